// Runs after `npm ci` (package.json "postinstall"), in the Makefile and in the Dockerfile.
//
// NHS.UK frontend's prebuilt stylesheet loads the Frutiger typeface from https://assets.nhs.uk.
// Nothing here may load from another origin: many NHS networks cannot reach it, and the
// Content Security Policy allows fonts from 'self' only. So we serve a copy without its
// @font-face rules; the stylesheet's own font stack then falls back to Arial, as NHS.UK
// frontend intends when the font is unavailable. Django serves the copy as
// nhsuk-local/nhsuk-frontend.min.css (STATICFILES_DIRS in ilcop/settings.py).
const fs = require("fs");
const path = require("path");

const source = path.join("node_modules", "nhsuk-frontend", "dist", "nhsuk", "nhsuk-frontend.min.css");
const target = path.join("node_modules", ".ilcop-static", "nhsuk-frontend.min.css");
const css = fs.readFileSync(source, "utf8")
  .replace(/@font-face\{[^}]*\}/g, "")
  .replace(/\/\*# sourceMappingURL=[^*]*\*\//g, "")
  // Its icons are addressed from the site root (/assets/images/...), where nothing is
  // served: point them at the package's own copies, served under static/nhsuk/.
  .replace(/url\(\/assets\//g, "url(../nhsuk/assets/");
if (/https?:\/\//.test(css.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, ""))) {
  throw new Error(`${source} still refers to another origin; update static-build.js`);
}
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, css);
