// The staff console: reads the staff API with the key the staff member enters. The key
// stays in this tab's sessionStorage; nothing is loaded from anywhere but this server.
(function () {
  "use strict";
  const store = window.sessionStorage;
  const $ = (id) => document.getElementById(id);
  const status = (text) => { $("status").textContent = text; };

  function cell(text, numeric) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (numeric) td.className = "num";
    return td;
  }
  function row(cells) {
    const tr = document.createElement("tr");
    cells.forEach((c) => tr.appendChild(c instanceof Node ? c : cell(c[0], c[1])));
    return tr;
  }
  function fill(id, rows) {
    const body = $(id);
    body.replaceChildren(...rows);
  }
  const money = (m) => (m ? `${m.text} ${m.currency}` : "");
  const sums = (list) => list.map((t) => money(t.net)).join(", ");

  async function api(path, options) {
    const key = store.getItem("patronage-staff-key");
    if (!key) { status("Enter a staff API key first."); throw new Error("no key"); }
    const response = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      status(`${response.status}: ${detail}`);
      throw new Error(detail);
    }
    status("");
    return body;
  }

  async function showSupporters() {
    const q = $("q").value.trim();
    const page = await api(`/staff/supporters?limit=100${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    fill("supporter-rows", page.items.map((s) => row([
      [s.name], [s.email], [s.gift_count, true], [sums(s.lifetime), true], [sums(s.this_year), true],
      [s.membership_status ? `${s.membership_status} ${money(s.membership_monthly)}` : ""],
      [s.last_gift_at ? s.last_gift_at.slice(0, 10) : ""], [s.receipts_issued, true],
    ])));
  }

  async function showTotals() {
    const [members, months, campaigns] = await Promise.all([
      api("/staff/totals/members"), api("/staff/totals?period=month"), api("/staff/totals/campaigns"),
    ]);
    const cards = members.active.map((a) => {
      const card = document.createElement("div");
      card.className = "card";
      const strong = document.createElement("strong");
      strong.textContent = `${a.members} members`;
      card.append(strong, `MRR ${money(a.monthly_recurring_revenue)}`);
      return card;
    });
    $("member-cards").replaceChildren(...cards);
    fill("month-rows", months.map((t) => row([
      [t.period], [t.currency], [t.gifts, true], [money(t.gross), true], [money(t.refunded), true],
      [money(t.disputes_lost), true], [money(t.net), true], [money(t.one_time_gross), true],
      [money(t.monthly_gross), true],
    ])));
    fill("campaign-rows", campaigns.map((t) => row([
      [t.campaign || "(none)"], [t.variant || "(none)"], [t.currency], [t.gifts, true], [money(t.net), true],
    ])));
  }

  async function showRegister() {
    const register = await api("/staff/receipts?limit=500");
    fill("register-rows", register.items.map((r) => row([
      [r.number], [r.kind], [r.donor_name], [r.tax_year], [money(r.amount), true], [r.status],
      [r.replaces_number], [r.replaced_by_number],
    ])));
  }

  async function showUnreceipted(year) {
    const groups = await api(`/staff/receipts/unreceipted?tax_year=${year}`);
    fill("unreceipted-rows", groups.map((g) => {
      const button = document.createElement("button");
      button.className = "action";
      button.textContent = "Issue annual receipt";
      button.addEventListener("click", async () => {
        const issued = await api("/staff/receipts/annual", {
          method: "POST",
          body: JSON.stringify({ supporter_id: g.supporter_id, tax_year: year, currency: g.amount.currency }),
        });
        status(`Issued receipt ${issued.number}`);
        await Promise.all([showRegister(), showUnreceipted(year)]);
      });
      const action = document.createElement("td");
      action.appendChild(button);
      return row([[g.supporter_id], [g.gifts, true], [money(g.amount), true], [g.held, true], action]);
    }));
  }

  async function showInbox() {
    const page = await api("/staff/inbox?limit=100");
    fill("inbox-rows", page.entries.map((e) => row([
      [e.recorded_at.slice(0, 19).replace("T", " ")], [e.event_type], [e.status], [e.detail],
    ])));
  }

  const loaders = { supporters: showSupporters, totals: showTotals, receipts: showRegister, inbox: showInbox };
  let current = "supporters";
  function select(tab) {
    current = tab;
    document.querySelectorAll("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
    document.querySelectorAll("[role=tabpanel]").forEach((p) => { p.hidden = p.id !== tab; });
    loaders[tab]().catch(() => {});
  }
  document.querySelectorAll("[role=tab]").forEach((b) => b.addEventListener("click", () => select(b.dataset.tab)));
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    store.setItem("patronage-staff-key", $("key").value);
    $("key").value = "";
    select(current);
  });
  $("search").addEventListener("submit", (event) => { event.preventDefault(); showSupporters().catch(() => {}); });
  $("unreceipted-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showUnreceipted(Number($("tax-year").value)).catch(() => {});
  });
  $("tax-year").value = String(new Date().getUTCFullYear() - 1);
  if (store.getItem("patronage-staff-key")) select(current);
})();
