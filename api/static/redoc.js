// ReDoc for /redoc, from the service's own copy (no CDN, no web fonts).
Redoc.init("/openapi.json", {hideDownloadButton: false, expandResponses: "200,201"}, document.getElementById("redoc"));
