// Boots Swagger UI on /docs/api (served by the site; no inline script under its CSP).
(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    deepLinking: true,
    tryItOutEnabled: false,
  });
})();
