/*
 * Patronage embed: the ask at the end of an article, in two steps (docs/asks.md): how often
 * and how much, then the donor's details and the card. No dependencies; it talks to the
 * Patronage API, and loads Stripe.js (from the address /asks gives) only when a reader
 * reaches the card, which Stripe's card element sends to Stripe, never to us.
 *
 *   <div id="patronage-ask" data-article-id="..." data-section="..." data-tags="a,b"
 *        data-paid="false" data-sensitive="false"></div>
 *   <script src="https://donate.example.org/static/patronage-embed.js" defer></script>
 *
 * With a CAPTCHA configured, the page also defines window.patronageCaptcha(), a function
 * returning a Promise of the widget's token (docs/asks.md).
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

  // A refused request: `problems` are the API's per-field codes and messages (422), else
  // `message` is one sentence for the reader. Never the library's own validation text.
  function Refused(message, problems, status) {
    this.message = message;
    this.problems = problems || [];
    this.status = status || 0;
  }

  var TRY_AGAIN = "Something went wrong on our side. Please try again in a moment.";

  function post(path, body, headers) {
    var all = { "Content-Type": "application/json" };
    Object.keys(headers || {}).forEach(function (k) { all[k] = headers[k]; });
    return fetch(api + path, { method: "POST", headers: all, body: JSON.stringify(body) })
      .catch(function () {
        throw new Refused("We could not reach the newsroom. Please check your connection " +
          "and try again.");
      })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok) return data;
          var detail = data && data.detail;
          if (Array.isArray(detail)) {
            var problems = detail.filter(function (d) { return d && d.message; });
            throw new Refused(problems.length ? problems[0].message : TRY_AGAIN, problems,
              response.status);
          }
          var readable = typeof detail === "string" && response.status < 500 &&
            response.status !== 404;
          throw new Refused(readable ? detail : TRY_AGAIN, [], response.status);
        });
      });
  }

  // The newsroom's CAPTCHA widget, when the server requires one (docs/asks.md, "A CAPTCHA on
  // the newsroom's page"): the page's window.patronageCaptcha() gives a Promise of a token,
  // asked afresh for each press of "give", since a token passes one check only.
  function captchaToken(required) {
    if (!required) return Promise.resolve("");
    if (typeof window.patronageCaptcha !== "function") {
      if (window.console) {
        window.console.error("Patronage: the server requires a CAPTCHA, and this page " +
          "defines no window.patronageCaptcha() to get its token (docs/asks.md).");
      }
      return Promise.reject(new Refused("We cannot take gifts on this page just now: its " +
        "security check is missing. Please try again later."));
    }
    return Promise.resolve().then(window.patronageCaptcha).then(function (token) {
      if (typeof token !== "string" || !token) throw new Error("no token");
      return token;
    }).catch(function () {
      throw new Refused("The security check did not complete. Please try again.");
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var STYLE = [
    ".patronage{border-top:4px solid #c70000;background:#fdf6e3;padding:1.25rem;",
    "margin:2rem 0;font:1rem/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1a1a1a;",
    "max-width:42rem;box-sizing:border-box}",
    ".patronage *{box-sizing:border-box}",
    ".patronage h2{font:700 1.45rem/1.25 Georgia,'Times New Roman',serif;margin:0 0 .6rem}",
    ".patronage h3{font-size:1.05rem;margin:0 0 .5rem}",
    ".patronage p{margin:0 0 .75rem}",
    ".patronage .preview{display:inline-block;background:#1a1a1a;color:#fff;font-weight:700;",
    "font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;padding:.2rem .6rem;",
    "border-radius:.25rem;margin-bottom:.75rem}",
    ".patronage .highlight{background:#ffe500;padding:0 .2rem}",
    ".patronage .ticker{margin:.5rem 0 1rem}",
    ".patronage .ticker p{font-weight:600;margin:0 0 .3rem}",
    ".patronage progress{width:100%;height:.75rem;accent-color:#c70000}",
    ".patronage fieldset{border:0;padding:0;margin:0 0 1rem;min-width:0}",
    ".patronage legend{font-weight:700;margin-bottom:.5rem;padding:0}",
    ".patronage .chips{display:grid;grid-template-columns:repeat(auto-fit,minmax(6.5rem,1fr));",
    "gap:.5rem}",
    ".patronage .frequency{grid-template-columns:1fr 1fr}",
    ".patronage .choice{position:relative;display:block}",
    ".patronage .choice input{position:absolute;opacity:0;inset:0;margin:0;width:100%;height:100%;",
    "cursor:pointer}",
    ".patronage .choice span{display:flex;align-items:center;justify-content:center;",
    "min-height:3rem;padding:.5rem .75rem;border:2px solid #1a1a1a;border-radius:.5rem;",
    "background:#fff;font-weight:700;font-size:1.05rem;text-align:center}",
    ".patronage .choice small{font-weight:400;font-size:.85rem;margin-left:.1rem}",
    ".patronage .choice input:checked+span{background:#1a1a1a;color:#fff}",
    ".patronage .choice input:focus-visible+span{outline:3px solid #0a5cd6;outline-offset:2px}",
    ".patronage .field{display:block;margin:0 0 1rem}",
    ".patronage .field>label{display:block;font-weight:600;margin-bottom:.3rem}",
    ".patronage .field input,.patronage .field select{display:block;width:100%;min-height:3rem;",
    "padding:.55rem .75rem;font:inherit;border:2px solid #555;border-radius:.5rem;background:#fff}",
    ".patronage .other{margin-top:.75rem}",
    ".patronage .hint{color:#4a4a4a;font-size:.9rem;margin:.3rem 0 0}",
    ".patronage [aria-invalid=true]{border-color:#b00020!important;background:#fff6f6}",
    ".patronage .problem{color:#b00020;font-weight:600;margin:.35rem 0 0}",
    ".patronage .problem:empty{display:none}",
    ".patronage .check{display:flex;gap:.75rem;align-items:flex-start;min-height:3rem;",
    "padding:.65rem .75rem;border:2px solid #555;border-radius:.5rem;background:#fff;",
    "cursor:pointer;margin:0 0 1rem}",
    ".patronage .check input{width:1.5rem;height:1.5rem;margin:0;flex:none;accent-color:#1a1a1a}",
    ".patronage .summary{display:flex;justify-content:space-between;align-items:center;gap:.5rem;",
    "flex-wrap:wrap;background:#fff;border-radius:.5rem;padding:.6rem .75rem;margin:0 0 1rem}",
    ".patronage .summary strong{font-size:1.1rem}",
    ".patronage .link{background:none;border:0;padding:.5rem;min-height:3rem;color:#0a4fb5;",
    "text-decoration:underline;font:inherit;font-weight:600;cursor:pointer}",
    ".patronage .card{min-height:3rem;padding:.55rem .75rem;border:2px solid #555;",
    "border-radius:.5rem;background:#fff;display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}",
    ".patronage .card>span{display:none}",
    ".patronage .card input{font:inherit;border:1px solid #bbb;border-radius:.35rem;",
    "padding:.45rem .5rem;min-height:2.5rem;min-width:0;flex:1 1 3.5rem}",
    ".patronage .card input[placeholder=number]{flex:1 1 100%}",
    ".patronage .give{display:block;width:100%;min-height:3.25rem;font:inherit;font-weight:700;",
    "font-size:1.15rem;padding:.7rem 1.4rem;border:0;border-radius:.5rem;background:#c70000;",
    "color:#fff;cursor:pointer}",
    ".patronage .give:hover{background:#a30000}",
    ".patronage .give[disabled]{background:#7a7a7a;cursor:progress}",
    ".patronage button:focus-visible{outline:3px solid #0a5cd6;outline-offset:2px}",
    ".patronage .secure{font-size:.9rem;color:#4a4a4a;margin:.6rem 0 0}",
    ".patronage .alert{color:#b00020;font-weight:700;margin:.75rem 0}",
    ".patronage .alert:empty{display:none}",
    ".patronage .secondary{margin:.75rem 0 0}",
    ".patronage [hidden]{display:none!important}",
    "@media (min-width:600px){.patronage{padding:1.5rem 1.75rem}",
    ".patronage .give{width:auto;min-width:16rem}}"
  ].join("");

  function decimals(money) {
    var point = money.text.indexOf(".");
    return point === -1 ? 0 : money.text.length - point - 1;
  }

  function money(minor, currency, places) {
    var text = String(minor);
    if (places > 0) {
      while (text.length <= places) text = "0" + text;
      text = text.slice(0, -places) + "." + text.slice(-places);
    }
    return { minor: minor, currency: currency, text: text };
  }

  // "$25" for whole amounts, "$12.34" otherwise, in the reader's own number format.
  function format(amount) {
    var whole = amount.text.indexOf(".") === -1 || /\.0+$/.test(amount.text);
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: amount.currency,
        minimumFractionDigits: whole ? 0 : undefined }).format(Number(amount.text));
    } catch (e) {
      return amount.text + " " + amount.currency;
    }
  }

  // The same integer formula as the server (payments/amounts.py): what covers the card fee.
  function coverFee(amount, choices) {
    var gross = Math.ceil((amount.minor + choices.fee_fixed_minor) * 10000 /
      (10000 - choices.fee_rate_bp));
    return money(gross - amount.minor, amount.currency, decimals(choices.minimum));
  }

  function giveWords(amount, monthly) {
    return "Give " + format(amount) + (monthly ? " a month" : " once");
  }

  function thanksNode(message, lines) {
    var node = el("section", { "class": "patronage patronage-thanks", "aria-live": "polite",
      tabindex: "-1" }, [el("h2", { text: "Thank you for supporting our journalism" }),
      el("p", { text: message || "Your support keeps this reporting free for everyone." })]);
    (lines || []).forEach(function (line) { node.appendChild(line); });
    return node;
  }

  // An email address to write to, or the supporter page to sign in to.
  function contactNode(contact) {
    if (contact.indexOf("@") !== -1 && contact.indexOf("/") === -1) {
      return el("p", {}, ["To change or cancel your monthly gift at any time, write to ",
        el("a", { href: "mailto:" + contact, text: contact }), "."]);
    }
    return el("p", {}, ["To change or cancel your monthly gift at any time, visit ",
      el("a", { href: contact, text: "your supporter page" }), "."]);
  }

  // Stripe.js, loaded once, when a reader reaches the card: never before, so an article
  // that shows an ask loads nothing from Stripe until someone wants to give.
  var stripeLoading = null;
  function loadStripe(url) {
    if (!stripeLoading) {
      stripeLoading = new Promise(function (resolve, reject) {
        if (window.Stripe) return resolve(window.Stripe);
        var tag = el("script", { src: url });
        tag.onload = function () { resolve(window.Stripe); };
        tag.onerror = function () {
          stripeLoading = null;
          reject(new Refused("The card form could not load. Please try again in a moment."));
        };
        document.head.appendChild(tag);
      });
    }
    return stripeLoading;
  }

  function chip(name, value, label, suffix, checked) {
    var input = el("input", { type: "radio", name: name, value: value });
    input.checked = checked;
    var face = el("span", {}, [label]);
    if (suffix) {  // "$10/month" to the eye, "$10 a month" to a screen reader
      input.setAttribute("aria-label", label + " a month");
      face.appendChild(el("small", { text: suffix, "aria-hidden": "true" }));
    }
    return el("label", { "class": "choice" }, [input, face]);
  }

  // A labelled input with its hint and its problem line, both announced with it.
  function field(label, input, hint) {
    var problemId = input.id + "-problem";
    var problemLine = el("p", { "class": "problem", id: problemId });
    input.setAttribute("aria-describedby", (hint ? hint.id + " " : "") + problemId);
    return { node: el("div", { "class": "field" }, [el("label", { "for": input.id, text: label }),
      input, hint, problemLine]), input: input, problem: problemLine };
  }

  function renderAsk(container, answer, page, reader) {
    var ask = answer.ask;
    var choices = ask.choices;
    var places = decimals(choices.minimum);
    var root = el("section", { "class": "patronage", "aria-labelledby": "patronage-heading" });
    if (answer.preview) {
      root.appendChild(el("p", { "class": "preview", text: "Preview: not counted as a view" }));
    }
    root.appendChild(el("h2", { id: "patronage-heading", text: ask.heading }));
    ask.paragraphs.forEach(function (p) { root.appendChild(el("p", { text: p })); });
    if (ask.highlighted) {
      root.appendChild(el("p", {}, [el("strong", { "class": "highlight", text: ask.highlighted })]));
    }
    if (ask.ticker) {
      root.appendChild(el("div", { "class": "ticker" }, [
        el("p", { id: "patronage-ticker", text: format(ask.ticker.raised) + " of " +
          format(ask.ticker.goal) + " raised" }),
        el("progress", { max: String(ask.ticker.goal.minor),
          value: String(Math.min(ask.ticker.raised.minor, ask.ticker.goal.minor)),
          "aria-labelledby": "patronage-ticker" })]));
    }

    // Step 1: how often, how much, and one button that says what happens. -----------------
    var first = el("form", { novalidate: "novalidate", "aria-label": "Choose your gift" });
    var frequency = el("fieldset", {}, [el("legend", { text: "How often?" })]);
    var frequencyChips = el("div", { "class": "chips frequency" });
    [["one_time", "Once"], ["monthly", "Monthly"]].forEach(function (option) {
      frequencyChips.appendChild(chip("frequency", option[0], option[1], "",
        option[0] === choices.default_frequency));
    });
    frequency.appendChild(frequencyChips);
    var amounts = el("fieldset", {}, [el("legend", { text: "How much?" })]);
    var amountChips = el("div", { "class": "chips" });
    var limits = el("p", { "class": "hint", id: "patronage-limits", text: "Any amount from " +
      format(choices.minimum) + " to " + format(choices.maximum) });
    var other = field("Other amount (" + choices.currency + ")", el("input", { type: "text",
      id: "patronage-other", inputmode: "decimal", name: "other", autocomplete: "off" }), limits);
    other.node.className += " other";
    amounts.appendChild(amountChips);
    amounts.appendChild(other.node);
    var next = el("button", { type: "submit", "class": "give" });
    first.appendChild(frequency);
    first.appendChild(amounts);
    first.appendChild(next);
    first.appendChild(el("p", { "class": "secure", text: "Pay securely by card. " +
      "A monthly gift can be changed or cancelled at any time." }));

    // Step 2: who is giving, and the card. ------------------------------------------------
    var second = el("form", { novalidate: "novalidate", "aria-labelledby": "patronage-step2" });
    second.hidden = true;
    var summaryText = el("strong");
    var change = el("button", { type: "button", "class": "link", text: "Change amount" });
    var stepHeading = el("h3", { id: "patronage-step2", tabindex: "-1", text: "Your details" });
    var fee = el("input", { type: "checkbox", name: "cover_fees" });
    var feeText = el("span");
    var email = field("Email (for your receipt)", el("input", { type: "email", id: "patronage-email",
      name: "email", autocomplete: "email", required: "required" }));
    var name = field("Full name", el("input", { type: "text", id: "patronage-name", name: "name",
      autocomplete: "name", required: "required" }));
    var tributeKind = field("Dedicate this gift (optional)", el("select", {
      id: "patronage-tribute-kind", name: "tribute_kind" }, [
        el("option", { value: "", text: "No dedication" }),
        el("option", { value: "honour", text: "In honour of someone" }),
        el("option", { value: "memory", text: "In memory of someone" })]));
    var tributeName = field("Their name", el("input", { type: "text", id: "patronage-tribute-name",
      name: "tribute_name", autocomplete: "off" }));
    tributeName.node.hidden = true;
    var cardMount = el("div", { "class": "card", id: "patronage-card" });
    var cardProblem = el("p", { "class": "problem", id: "patronage-card-problem", role: "alert" });
    var card = el("fieldset", {}, [el("legend", { text: "Card" }), cardMount, cardProblem]);
    var alert = el("p", { "class": "alert", role: "alert" });
    var pay = el("button", { type: "submit", "class": "give" });
    [el("div", { "class": "summary" }, [summaryText, change]), stepHeading,
      el("label", { "class": "check" }, [fee, feeText]), email.node, name.node, tributeKind.node,
      tributeName.node, card, alert, pay,
      el("p", { "class": "secure", text: "Your card details go straight to Stripe, our " +
        "payment processor: they never reach our servers." })
    ].forEach(function (node) { second.appendChild(node); });
    if (ask.secondary) {
      second.appendChild(el("p", { "class": "secondary" }, [el("a", { href: ask.secondary.url,
        text: ask.secondary.text })]));
    }

    root.appendChild(first);
    root.appendChild(second);

    var checkoutKey = randomId(16);
    var stripe = null;
    var cardElement = null;

    function monthly() {
      var chosen = first.querySelector("input[name=frequency]:checked");
      return (chosen ? chosen.value : choices.default_frequency) === "monthly";
    }

    function drawAmounts() {
      while (amountChips.firstChild) amountChips.removeChild(amountChips.firstChild);
      var list = monthly() ? choices.monthly : choices.one_time;
      var chosen = monthly() ? choices.default_monthly : choices.default_one_time;
      list.forEach(function (amount) {
        amountChips.appendChild(chip("amount", amount.text, format(amount),
          monthly() ? "/month" : "", !other.input.value.trim() && amount.minor === chosen.minor));
      });
    }

    // The amount as typed or chosen, or a message for the reader.
    function amount() {
      var typed = other.input.value.trim().replace(/^[$€£]\s*/, "");
      if (!typed) {
        var chosen = first.querySelector("input[name=amount]:checked");
        if (!chosen) return { problem: "Please choose or enter an amount." };
        typed = chosen.value;
      }
      var pattern = places > 0 ? new RegExp("^\\d{1,9}(\\.\\d{1," + places + "})?$") : /^\d{1,9}$/;
      if (typed.indexOf(",") !== -1 && typed.indexOf(".") === -1 && places > 0) {
        typed = typed.replace(",", ".");  // "12,50" where a comma is the decimal mark
      }
      if (!pattern.test(typed)) {
        return { problem: "Please enter an amount in numbers, like 25 or 25.50." };
      }
      var parts = typed.split(".");
      var fraction = (parts[1] || "");
      while (fraction.length < places) fraction += "0";
      var minor = parseInt(parts[0], 10) * Math.pow(10, places) + (places ? parseInt(fraction, 10) : 0);
      if (minor < choices.minimum.minor) {
        return { problem: "The smallest gift is " + format(choices.minimum) + "." };
      }
      if (minor > choices.maximum.minor) {
        return { problem: "The largest gift we can take online is " + format(choices.maximum) + "." };
      }
      return { value: money(minor, choices.currency, places) };
    }

    function showProblem(target, message) {
      target.problem.textContent = message || "";
      if (message) target.input.setAttribute("aria-invalid", "true");
      else target.input.removeAttribute("aria-invalid");
    }

    function words() {
      var chosen = amount();
      showProblem(other, "");
      if (!chosen.value) {
        next.textContent = monthly() ? "Give monthly" : "Give once";
        return;
      }
      next.textContent = giveWords(chosen.value, monthly());
      var extra = coverFee(chosen.value, choices);
      feeText.textContent = "Add " + format(extra) + " to cover the card fee, so all of your " +
        format(chosen.value) + " reaches the newsroom";
      summaryText.textContent = "Your gift: " + format(chosen.value) + (monthly() ? " a month" : " once");
      var total = fee.checked ? money(chosen.value.minor + extra.minor, choices.currency, places)
        : chosen.value;
      pay.textContent = giveWords(total, monthly());
    }

    first.addEventListener("change", function (event) {
      if (event.target.name === "frequency") drawAmounts();
      if (event.target.name === "amount") other.input.value = "";
      words();
    });
    other.input.addEventListener("input", function () {
      // Typing another amount lets go of the chips, so only one amount is ever chosen.
      Array.prototype.forEach.call(first.querySelectorAll("input[name=amount]"),
        function (radio) { radio.checked = false; });
      words();
    });
    fee.addEventListener("change", words);
    tributeKind.input.addEventListener("change", function () {
      tributeName.node.hidden = !tributeKind.input.value;
      if (!tributeKind.input.value) showProblem(tributeName, "");
    });

    first.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = amount();
      if (!chosen.value) {
        showProblem(other, chosen.problem);
        other.input.focus();
        return;
      }
      words();
      first.hidden = true;
      second.hidden = false;
      stepHeading.focus();
      mountCard();
    });

    change.addEventListener("click", function () {
      second.hidden = true;
      first.hidden = false;
      next.focus();
    });

    function mountCard() {
      if (cardElement || !answer.stripe) return;
      loadStripe(answer.stripe.js_url).then(function (Stripe) {
        stripe = Stripe(answer.stripe.publishable_key);
        cardElement = stripe.elements().create("card", { style: { base: { fontSize: "16px" } } });
        cardElement.mount(cardMount);
        cardElement.on("change", function (change) {
          cardProblem.textContent = change && change.error ? change.error.message : "";
        });
      }).catch(function (failure) { cardProblem.textContent = failure.message; });
    }

    // What the reader typed, checked here first so a typo costs no request at all.
    function details() {
      var problems = [];
      var mail = email.input.value.trim();
      if (!mail) problems.push([email, "Please enter your email address, so we can send your receipt."]);
      else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(mail)) {
        problems.push([email, "Please check your email address: it should look like name@example.org."]);
      }
      if (!name.input.value.trim()) problems.push([name, "Please enter your name."]);
      if (tributeKind.input.value && !tributeName.input.value.trim()) {
        problems.push([tributeName, "Please enter the name of the person this gift is for."]);
      }
      [email, name, tributeName].forEach(function (target) { showProblem(target, ""); });
      problems.forEach(function (p) { showProblem(p[0], p[1]); });
      if (problems.length) problems[0][0].input.focus();
      return problems.length === 0;
    }

    var byField = { email: email, name: name, "tribute.name": tributeName, amount: other };

    function body() {
      var tribute = tributeKind.input.value
        ? { kind: tributeKind.input.value, name: tributeName.input.value.trim() } : null;
      return {
        checkout_key: checkoutKey,
        frequency: monthly() ? "monthly" : "one_time",
        amount: amount().value.text,
        currency: choices.currency,
        cover_fees: fee.checked,
        email: email.input.value.trim(),
        name: name.input.value.trim(),
        tribute: tribute,
        tracking: answer.tracking,
        reader_id: reader.reader_id
      };
    }

    function busy(on) {
      pay.disabled = on;
      second.setAttribute("aria-busy", on ? "true" : "false");
      if (on) pay.textContent = "Processing your gift…";
      else words();
    }

    // Stripe's answers: the SetupIntent with the card, then our charge, then 3-D Secure.
    function withCard(form, result) {
      if (result.status === "succeeded") return result;
      if (result.status === "requires_payment_method") {
        if (!stripe) throw new Refused("The card form is not ready yet. Please try again.");
        return stripe.confirmCardSetup(result.client_secret, { payment_method: {
          card: cardElement, billing_details: { name: form.name, email: form.email } } })
          .then(function (setup) {
            if (setup.error) throw new Refused(setup.error.message, [], 402);
            var paying = Object.assign({}, form, { payment_method: setup.setupIntent.payment_method });
            return post("/checkout/payments", paying, { "X-Patronage-Reader": reader.reader_id });
          }).then(function (charged) { return withCard(form, charged); });
      }
      if (result.status === "requires_action") {
        return stripe.confirmCardPayment(result.client_secret).then(function (done) {
          if (done.error) throw new Refused(done.error.message, [], 402);
          return post("/checkout/confirmations", { checkout_id: result.checkout_id });
        }).then(function (confirmed) {
          if (confirmed.status !== "succeeded") {
            throw new Refused("Your bank did not confirm the payment. Please try again.", [], 402);
          }
          return confirmed;
        });
      }
      throw new Refused("Your payment is still being processed. We will email you once it " +
        "has gone through.");
    }

    second.addEventListener("submit", function (event) {
      event.preventDefault();
      alert.textContent = "";
      cardProblem.textContent = "";
      if (!details()) return;
      var form = body();
      busy(true);
      captchaToken(answer.captcha_required).then(function (token) {
        var starting = token ? Object.assign({}, form, { captcha_token: token }) : form;
        return post("/checkout", starting, { "X-Patronage-Reader": reader.reader_id });
      }).then(function (result) {
        return withCard(form, result);
      }).then(function (result) {
        save("token", result.supporter_token);
        var lines = [el("p", { text: "A receipt is on its way to " + form.email + "." })];
        if (result.frequency === "monthly" && result.members_contact) {
          lines.push(contactNode(result.members_contact));
        }
        var thanks = thanksNode((result.frequency === "monthly"
          ? "Your monthly gift of " + format(result.total) + " has started."
          : "Your gift of " + format(result.total) + " is on its way to the newsroom."), lines);
        container.replaceChild(thanks, root);
        thanks.focus();
      }).catch(function (failure) {
        var refused = failure instanceof Refused ? failure : new Refused(TRY_AGAIN);
        if (refused.status === 402 || refused.status === 403) {
          checkoutKey = randomId(16);  // the next card, or the next CAPTCHA, is a new attempt
        }
        if (refused.status === 402) {
          cardProblem.textContent = refused.message;
        } else {
          var placed = refused.problems.filter(function (p) { return byField[p.field]; });
          placed.forEach(function (p) { showProblem(byField[p.field], p.message); });
          var shown = placed.length && placed[0].field !== "amount";
          if (shown) byField[placed[0].field].input.focus();
          else alert.textContent = refused.message;
        }
        busy(false);
      });
    });

    drawAmounts();
    words();
    container.appendChild(root);
    save("asks", asksSeen().concat([new Date().toISOString()]));
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
