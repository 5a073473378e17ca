/* The end-user pages' one script (served by the platform: no inline script, CSP script-src 'self').

   1. A page that carries a message (data-post-message: instance.configured, wizard.close,
      wizard.error, auth.finish, auth.close, auth.error) posts it to the embedding page: its parent
      frame, or the window that opened it (and that window's parent, when the wizard was opened from
      our own "continue in a new window" page). targetOrigin is each of the organization's allowed
      origins (data-target-origins), never "*": a window of any other origin receives nothing.
   2. A "Connect" button of a provider's consent (data-popup) opens the consent in a popup: the
      popup is opened at once (inside the click, so that no blocker stops it), the page asks its
      own server for the authorize URL (the form, mode=popup, with its CSRF token), and the popup
      goes there. The provider comes back to /embedded/oauth-finished/, which tells this page
      (same origin only) and closes; this page then shows the screen again, with the new account.
      If the popup cannot tell (the link to it was cut), its closing is enough.
   3. "Continue in a new window" (data-open-popup) opens the same address in a popup.
   Without JavaScript everything but 1 and the popups works: the window goes to the provider and
   comes back. */
(function () {
  "use strict";

  var body = document.body;

  function parsed(text, fallback) {
    try {
      return text ? JSON.parse(text) : fallback;
    } catch (error) {
      return fallback;
    }
  }

  var origins = parsed(body.getAttribute("data-target-origins"), []);

  function embedders() {
    var found = [];
    function add(candidate) {
      if (candidate && candidate !== window && found.indexOf(candidate) === -1) {
        found.push(candidate);
      }
    }
    if (window.parent !== window) {
      add(window.parent);
    }
    if (window.opener) {
      add(window.opener);
      try {
        add(window.opener.parent);
      } catch (error) {
        /* a cut link: nothing more to reach */
      }
    }
    return found;
  }

  function post(message) {
    embedders().forEach(function (target) {
      origins.forEach(function (origin) {
        try {
          target.postMessage(message, origin);
        } catch (error) {
          /* a closed window */
        }
      });
    });
  }

  var message = parsed(body.getAttribute("data-post-message"), null);
  if (message) {
    post(message);
    var popupName = body.getAttribute("data-close-popup");
    if (popupName && window.name === popupName) {
      window.close();
    }
  }

  if (body.hasAttribute("data-notify-opener") && window.opener) {
    try {
      window.opener.postMessage({ type: "embedded.oauth.finished" }, window.location.origin);
    } catch (error) {
      /* the opener is gone: closing is enough */
    }
    window.close();
  }

  function showError(button, text) {
    var box = button.closest("[data-connect]");
    var place = box ? box.querySelector("[data-connect-error]") : null;
    if (place) {
      place.textContent = text;
    }
  }

  function watch(popup, screenUrl) {
    var done = false;
    var timer = null;
    function again() {
      if (done) {
        return;
      }
      done = true;
      window.clearInterval(timer);
      window.location.replace(screenUrl);
    }
    window.addEventListener("message", function (event) {
      if (
        event.origin === window.location.origin &&
        event.source === popup &&
        event.data &&
        event.data.type === "embedded.oauth.finished"
      ) {
        again();
      }
    });
    timer = window.setInterval(function () {
      if (popup.closed) {
        again();
      }
    }, 500);
  }

  var form = document.querySelector("form[data-wizard-form]");
  if (form && window.fetch && window.FormData) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.hasAttribute("data-popup")) {
        return;
      }
      event.preventDefault();
      showError(button, "");
      var popup = window.open("", "embedded-oauth", "popup,width=600,height=720");
      if (!popup) {
        showError(
          button,
          "Your browser blocked the sign-in window. Allow pop-ups for this site, then try again."
        );
        return;
      }
      var data = new FormData(form, button);
      data.set("mode", "popup");
      window
        .fetch(form.getAttribute("action"), {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        })
        .then(function (response) {
          return response.json().then(function (answer) {
            return { ok: response.ok, answer: answer };
          });
        })
        .then(function (result) {
          if (result.ok && result.answer.authorize_url) {
            popup.location.href = result.answer.authorize_url;
            watch(popup, form.getAttribute("data-screen-url"));
          } else {
            popup.close();
            showError(button, result.answer.error || "The sign-in could not start; try again.");
          }
        })
        .catch(function () {
          popup.close();
          showError(button, "The sign-in could not start; check your connection and try again.");
        });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("a[data-open-popup]"), function (link) {
    link.addEventListener("click", function (event) {
      var opened = window.open(
        link.href,
        link.getAttribute("data-open-popup"),
        "popup,width=720,height=800"
      );
      if (opened) {
        event.preventDefault();
      }
    });
  });
})();
