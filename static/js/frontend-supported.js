// Loaded as a classic, blocking script at the very top of <body>, so the classes are on <body>
// before anything is drawn. This is the snippet NHS.UK frontend documents as an inline script,
// moved into a file so the Content Security Policy needs no inline scripts.
// `nhsuk-frontend-supported` means the browser runs ES modules (ilcop.js) and so will
// initialise the components; the CSS only hides progressively enhanced content under it.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
