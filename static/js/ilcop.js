// Initialises NHS.UK frontend components. Loaded from base.html as
//   <script type="module" src=".../js/ilcop.js" data-nhsuk-frontend=".../nhsuk/nhsuk-frontend.min.js">
// The library's URL comes from that attribute (built with {% static %}), so it is the hashed
// file name in production and ilcop.js does not depend on where staticfiles puts things.
//
// NHS.UK frontend's own components do the page-load behaviour we rely on: ErrorSummary moves
// focus to the error summary, and NotificationBanner to a success banner (role="alert").

const script = document.querySelector('script[data-nhsuk-frontend]');

if (script) {
  import(script.dataset.nhsukFrontend).then(({ initAll }) => {
    initAll();

    // Content that htmx swaps in needs its components initialised too. Scope to the parent so
    // a swapped element that is itself a component (data-module on the root) is included;
    // components that are already initialised refuse a second init, which is expected here.
    document.body.addEventListener('htmx:load', (event) => {
      const element = event.detail && event.detail.elt;
      if (!element || element === document.body) {
        return;
      }
      initAll({
        scope: element.parentElement || element,
        onError(error) {
          if (error && error.name !== 'InitError') {
            console.error(error);
          }
        }
      });
    });
  });
}
