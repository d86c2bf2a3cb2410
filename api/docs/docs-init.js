/*
 * Starts Swagger UI on the OpenAPI document of this server. A file rather than an inline script: the
 * page's Content-Security-Policy runs scripts from this origin only.
 */
/* global SwaggerUIBundle -- swagger-ui-bundle.js, loaded first by the page */
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: '/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Off: the default badge sends the document to an outside validator (and CSP would block it anyway).
    validatorUrl: null,
    // The API reference only: no top bar for loading other documents.
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    docExpansion: 'list',
  });
});
