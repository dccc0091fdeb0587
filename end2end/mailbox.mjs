// A real SMTP server on loopback for the browser tests: the server under test sends its
// email here (UPCOUNT_SMTP_URL, scripts/e2e-server.sh), and the stand-in's `GET /_mail?to=`
// answers with what arrived for an address, parsed (subject, text, html, links).
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

// Delivered messages, oldest first.
const messages = [];

export function startMailbox(port) {
  const server = new SMTPServer({
    // Plain SMTP on loopback, as `smtp://127.0.0.1:…` asks for: no TLS, no login.
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    banner: 'Upcount e2e mailbox',
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            html: typeof mail.html === 'string' ? mail.html : '',
            at: new Date().toISOString(),
          });
          callback();
        })
        .catch((error) => callback(error));
    },
  });
  server.on('error', (error) => console.error(`mailbox: ${error.message}`));
  server.listen(port, '127.0.0.1');
  return server;
}

// The messages delivered to `address`, oldest first.
export function mailFor(address) {
  const wanted = address.toLowerCase();
  return messages.filter((message) => message.to.includes(wanted));
}
