// A real SMTP server on loopback for the browser tests (nodemailer's `smtp-server`), which
// keeps what it is sent, parsed with `mailparser`: the server under test sends its email
// here (UPCOUNT_SMTP_URL in scripts/e2e-server.sh) and a test reads it back through the
// stand-in's `GET /_mail?to=…` (standin.mjs).
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

// Starts the server on `port`; the messages it received, oldest first, as
// `{ from, to: [address], subject, text, html }`.
export function startMailbox(port) {
  const messages = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback, as `smtp://127.0.0.1:port` asks for: no TLS, no login.
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
          });
          callback();
        })
        .catch((error) => callback(error));
    },
  });
  server.on('error', (error) => console.error(`mailbox: ${error.message}`));
  server.listen(port, '127.0.0.1');
  return messages;
}
