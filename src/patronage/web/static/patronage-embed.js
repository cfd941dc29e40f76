/*
 * Patronage embed: the ask at the end of an article. No dependencies; talks only to the
 * Patronage API (and, outside demo mode, loads Stripe's own script to take the card).
 *
 *   <div id="patronage-ask" data-article-id="..." data-section="..." data-tags="a,b"
 *        data-paid="false" data-sensitive="false"></div>
 *   <script src="https://donate.example.org/static/patronage-embed.js" defer></script>
 *
 * Kept in this browser's localStorage: an anonymous reader id, articles read per week,
 * when asks were shown, and the supporter token given after a gift.
 */
(function () {
  "use strict";

  var STORE = "patronage.";
  var script = document.currentScript;
  var api = (script && script.getAttribute("data-api")) ||
    (script ? new URL(script.src).origin : window.location.origin);

  function load(key, fallback) {
    try {
      var value = window.localStorage.getItem(STORE + key);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      window.localStorage.setItem(STORE + key, JSON.stringify(value));
    } catch (e) { /* private mode: the ask still works, it just forgets */ }
  }

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    window.crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function readerId() {
    var id = load("reader", "");
    if (!id) {
      id = randomId(16);
      save("reader", id);
    }
    return id;
  }

  function weekStart(date) {
    var d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7)); // back to Monday
    return d.toISOString().slice(0, 10);
  }

  // Count this article once per week, keep a year of weeks.
  function countRead(articleId) {
    var now = new Date();
    var week = weekStart(now);
    var weeks = load("weeks", {});
    var seen = load("seen", {});
    if (seen.week !== week) seen = { week: week, ids: [] };
    if (seen.ids.indexOf(articleId) === -1) {
      seen.ids = seen.ids.concat([articleId]).slice(-200);
      weeks[week] = (weeks[week] || 0) + 1;
    }
    var cutoff = weekStart(new Date(now.getTime() - 366 * 86400000));
    Object.keys(weeks).forEach(function (w) { if (w < cutoff) delete weeks[w]; });
    save("weeks", weeks);
    save("seen", seen);
    return Object.keys(weeks).map(function (w) { return { week_start: w, count: weeks[w] }; });
  }

  function asksSeen() {
    var cutoff = Date.now() - 60 * 86400000;
    // The API takes at most 100 entries; 50 recent asks say all a frequency cap needs.
    return load("asks", []).filter(function (t) { return Date.parse(t) > cutoff; }).slice(-50);
  }

  function device() {
    var width = window.innerWidth || 1024;
    return width < 600 ? "mobile" : width < 1024 ? "tablet" : "desktop";
  }

  function post(path, body, headers) {
    var all = { "Content-Type": "application/json" };
    Object.keys(headers || {}).forEach(function (k) { all[k] = headers[k]; });
    return fetch(api + path, { method: "POST", headers: all, body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            var detail = data && data.detail;
            if (Array.isArray(detail)) {
              detail = detail.map(function (d) { return d.msg; }).join("; ");
            }
            throw new Error(detail || "Something went wrong. Please try again.");
          }
          return data;
        });
      });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  var STYLE = [
    ".patronage{border-top:4px solid #c70000;background:#fdf6e3;padding:1rem 1.25rem;",
    "margin:2rem 0;font:1rem/1.5 system-ui,sans-serif;color:#1a1a1a;max-width:42rem}",
    ".patronage h2{font-size:1.4rem;margin:0 0 .5rem}",
    ".patronage fieldset{border:0;padding:0;margin:.75rem 0;display:flex;flex-wrap:wrap;gap:.5rem}",
    ".patronage legend{font-weight:600;margin-bottom:.25rem;width:100%}",
    ".patronage .choice{position:relative}",
    ".patronage .choice input{position:absolute;opacity:0;inset:0}",
    ".patronage .choice span{display:inline-block;padding:.5rem .9rem;border:2px solid #1a1a1a;",
    "border-radius:2rem;background:#fff;cursor:pointer}",
    ".patronage .choice input:checked+span{background:#1a1a1a;color:#fff}",
    ".patronage .choice input:focus-visible+span{outline:3px solid #0a5cd6;outline-offset:2px}",
    ".patronage label.field{display:block;margin:.5rem 0}",
    ".patronage label.field input,.patronage select{display:block;width:100%;max-width:24rem;",
    "padding:.5rem;font:inherit;border:1px solid #555;border-radius:.25rem;box-sizing:border-box}",
    ".patronage button{font:inherit;font-weight:700;padding:.65rem 1.4rem;border:0;",
    "border-radius:2rem;background:#c70000;color:#fff;cursor:pointer;margin-top:.75rem}",
    ".patronage button:focus-visible{outline:3px solid #0a5cd6;outline-offset:2px}",
    ".patronage .error{color:#9b0000;font-weight:600}",
    ".patronage progress{width:100%;height:.75rem}",
    ".patronage .highlight{background:#ffe500;padding:0 .2rem}"
  ].join("");

  function amountChoices(list, name, selected) {
    return list.map(function (amount) {
      var input = el("input", { type: "radio", name: name, value: amount.text });
      if (amount.minor === selected.minor) input.checked = true;
      return el("label", { "class": "choice" }, [input, el("span", { text: format(amount) })]);
    });
  }

  function format(amount) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: amount.currency })
        .format(Number(amount.text));
    } catch (e) {
      return amount.text + " " + amount.currency;
    }
  }

  function thanksNode(message) {
    var node = el("section", { "class": "patronage patronage-thanks", "aria-live": "polite",
      tabindex: "-1" }, [el("h2", { text: "Thank you for supporting our journalism" }),
      el("p", { text: message || "Your support keeps this reporting free for everyone." })]);
    return node;
  }

  function renderAsk(container, answer, page, reader) {
    var ask = answer.ask;
    var choices = ask.choices;
    var root = el("section", { "class": "patronage", "aria-labelledby": "patronage-heading" });
    root.appendChild(el("h2", { id: "patronage-heading", text: ask.heading }));
    ask.paragraphs.forEach(function (p) { root.appendChild(el("p", { text: p })); });
    if (ask.highlighted) {
      root.appendChild(el("p", {}, [el("strong", { "class": "highlight", text: ask.highlighted })]));
    }
    if (ask.ticker) {
      var label = format(ask.ticker.raised) + " of " + format(ask.ticker.goal) + " raised";
      root.appendChild(el("p", { id: "patronage-ticker", text: label }));
      root.appendChild(el("progress", { max: String(ask.ticker.goal.minor),
        value: String(Math.min(ask.ticker.raised.minor, ask.ticker.goal.minor)),
        "aria-labelledby": "patronage-ticker" }));
    }

    var form = el("form", { novalidate: "novalidate" });
    var frequency = el("fieldset", {}, [el("legend", { text: "How often?" })]);
    [["one_time", "Once"], ["monthly", "Monthly"]].forEach(function (option) {
      var input = el("input", { type: "radio", name: "frequency", value: option[0] });
      if (option[0] === choices.default_frequency) input.checked = true;
      frequency.appendChild(el("label", { "class": "choice" }, [input, el("span", { text: option[1] })]));
    });
    var amounts = el("fieldset", {}, [el("legend", { text: "Amount (" + choices.currency + ")" })]);
    var other = el("input", { type: "text", inputmode: "decimal", name: "other", autocomplete: "off",
      "aria-describedby": "patronage-limits" });
    var fee = el("input", { type: "checkbox", name: "cover_fees" });
    var feeText = el("span", { text: "Add the card fee so all of my gift reaches the newsroom" });
    var email = el("input", { type: "email", name: "email", autocomplete: "email", required: "required" });
    var name = el("input", { type: "text", name: "name", autocomplete: "name", required: "required" });
    var tributeKind = el("select", { name: "tribute_kind" }, [
      el("option", { value: "", text: "No dedication" }),
      el("option", { value: "honour", text: "In honour of" }),
      el("option", { value: "memory", text: "In memory of" })]);
    var tributeName = el("input", { type: "text", name: "tribute_name", autocomplete: "off" });
    var error = el("p", { "class": "error", role: "alert" });
    var submit = el("button", { type: "submit", text: ask.cta.text });
    var checkoutKey = randomId(16);

    function selected() {
      var chosen = form.querySelector("input[name=frequency]:checked");
      return chosen ? chosen.value : choices.default_frequency;
    }

    function drawAmounts() {
      while (amounts.childNodes.length > 1) amounts.removeChild(amounts.lastChild);
      var monthly = selected() === "monthly";
      amountChoices(monthly ? choices.monthly : choices.one_time, "amount",
        monthly ? choices.default_monthly : choices.default_one_time)
        .forEach(function (node) { amounts.appendChild(node); });
      amounts.appendChild(el("label", { "class": "field" }, [
        el("span", { text: "Other amount" }), other]));
      amounts.appendChild(el("p", { id: "patronage-limits", text: "Between " +
        format(choices.minimum) + " and " + format(choices.maximum) }));
    }

    function amountText() {
      if (other.value.trim()) return other.value.trim();
      var chosen = form.querySelector("input[name=amount]:checked");
      return chosen ? chosen.value : "";
    }

    function quote() {
      var text = amountText();
      checkoutKey = randomId(16); // new details, new checkout
      if (!text) return;
      post("/checkout/quote", { amount: text, currency: choices.currency }).then(function (q) {
        feeText.textContent = "Add " + format(q.fee) + " to cover the card fee (total " +
          format(q.total_with_fee) + ")";
      }).catch(function () { /* the checkout itself reports a bad amount */ });
    }

    form.addEventListener("change", function (event) {
      if (event.target.name === "frequency") drawAmounts();
      if (event.target.name === "amount") other.value = "";
      if (["frequency", "amount", "other"].indexOf(event.target.name) !== -1) quote();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.textContent = "";
      submit.disabled = true;
      submit.textContent = "Processing…";
      var tribute = tributeKind.value && tributeName.value.trim()
        ? { kind: tributeKind.value, name: tributeName.value.trim() } : null;
      post("/checkout", {
        checkout_key: checkoutKey,
        frequency: selected(),
        amount: amountText(),
        currency: choices.currency,
        cover_fees: fee.checked,
        email: email.value.trim(),
        name: name.value.trim(),
        tribute: tribute,
        tracking: answer.tracking,
        reader_id: reader.reader_id
      }, { "X-Patronage-Reader": reader.reader_id }).then(function (result) {
        if (result.status === "succeeded") return result;
        return payWithStripe(result, form);
      }).then(function (result) {
        save("token", result.supporter_token);
        var thanks = thanksNode("Your " + (result.frequency === "monthly" ? "monthly " : "") +
          "gift of " + format(result.total) + " is on its way to the newsroom.");
        container.replaceChild(thanks, root);
        thanks.focus();
      }).catch(function (failure) {
        error.textContent = failure.message;
        submit.disabled = false;
        submit.textContent = ask.cta.text;
      });
    });

    form.appendChild(frequency);
    form.appendChild(amounts);
    form.appendChild(el("label", {}, [fee, feeText]));
    form.appendChild(el("label", { "class": "field" }, [el("span", { text: "Email" }), email]));
    form.appendChild(el("label", { "class": "field" }, [el("span", { text: "Name" }), name]));
    form.appendChild(el("label", { "class": "field" }, [el("span", { text: "Dedicate this gift" }), tributeKind]));
    form.appendChild(el("label", { "class": "field" }, [el("span", { text: "Name of the person" }), tributeName]));
    form.appendChild(error);
    form.appendChild(submit);
    if (ask.secondary) {
      form.appendChild(el("p", {}, [el("a", { href: ask.secondary.url, text: ask.secondary.text })]));
    }
    root.appendChild(form);
    drawAmounts();
    quote();
    container.appendChild(root);
    save("asks", asksSeen().concat([new Date().toISOString()]));
  }

  // Outside demo mode the card is taken by Stripe's Payment Element, then the server is asked
  // for the outcome (and the supporter token).
  function payWithStripe(result, form) {
    if (!result.client_secret || !result.publishable_key) {
      return Promise.reject(new Error("The payment could not be started. Please try again."));
    }
    return loadStripe().then(function (Stripe) {
      var stripe = Stripe(result.publishable_key);
      var elements = stripe.elements({ clientSecret: result.client_secret });
      var mount = el("div", { id: "patronage-payment" });
      form.insertBefore(mount, form.querySelector("button"));
      elements.create("payment").mount(mount);
      return new Promise(function (resolve, reject) {
        var pay = el("button", { type: "button", text: "Pay " + format(result.total) });
        form.appendChild(pay);
        pay.addEventListener("click", function () {
          stripe.confirmPayment({ elements: elements, redirect: "if_required" }).then(function (r) {
            if (r.error) return reject(new Error(r.error.message));
            post("/checkout/confirmations", { checkout_id: result.checkout_id }).then(resolve, reject);
          });
        });
      });
    });
  }

  function loadStripe() {
    if (window.Stripe) return Promise.resolve(window.Stripe);
    return new Promise(function (resolve, reject) {
      var tag = el("script", { src: "https://js.stripe.com/v3/" });
      tag.onload = function () { resolve(window.Stripe); };
      tag.onerror = function () { reject(new Error("The payment form could not load.")); };
      document.head.appendChild(tag);
    });
  }

  function start() {
    var container = document.getElementById("patronage-ask");
    if (!container) return;
    var data = container.dataset;
    var style = el("style", { text: STYLE });
    document.head.appendChild(style);
    var page = {
      article_id: (data.articleId || window.location.pathname).slice(0, 200),
      url: window.location.href.split("?")[0],
      section: data.section || "",
      tags: (data.tags || "").split(",").map(function (t) { return t.trim().slice(0, 200); })
        .filter(Boolean).slice(0, 50),
      paid: data.paid === "true",
      sensitive: data.sensitive === "true",
      hidden: data.hidden === "true"
    };
    var reader = {
      reader_id: readerId(),
      country: data.country || "",
      weekly_counts: countRead(page.article_id),
      asks_seen: asksSeen(),
      supporter_token: load("token", ""),
      device: device(),
      signed_in: data.signedIn === "true",
      article_count_opt_out: load("optout", false) === true
    };
    var params = new URLSearchParams(window.location.search);
    var query = [];
    if (params.get("force")) query.push("force=" + encodeURIComponent(params.get("force")));
    if (params.get("debug")) query.push("debug=true");
    post("/asks" + (query.length ? "?" + query.join("&") : ""), { page: page, reader: reader })
      .then(function (answer) {
        if (answer.kind === "ask") renderAsk(container, answer, page, reader);
        else if (answer.kind === "thanks") container.appendChild(thanksNode());
        if (answer.reason) container.setAttribute("data-reason", answer.reason);
        container.setAttribute("data-kind", answer.kind);
      })
      .catch(function () { /* no ask is better than a broken page */ });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
