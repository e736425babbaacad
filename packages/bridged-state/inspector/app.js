// The inspector page: no framework, no build step. Reads /api (read-only) and follows a
// session's server-sent events; charts are uPlot (window.uPlot, served by the same bridge).
(() => {
  const token = new URLSearchParams(location.search).get("token");
  const main = document.getElementById("main");
  const crumbs = document.getElementById("crumbs");
  const status = document.getElementById("status");
  const enc = encodeURIComponent;
  let current = null;

  function api(path) {
    if (!token) return path;
    return `${path}${path.includes("?") ? "&" : "?"}token=${enc(token)}`;
  }

  async function getJson(path) {
    const response = await fetch(api(path), { headers: { accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("data-") || key === "href" || key === "title")
        node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const sessionLink = (id) => `#/s/${enc(id)}`;
  const variableLink = (id, name) => `#/s/${enc(id)}/v/${enc(name)}`;
  const isNumeric = (record) => record.type === "float" || record.type === "integer";
  const now = () => performance.timeOrigin + performance.now();

  function time(ms) {
    const d = new Date(ms);
    return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  }

  function shown(record) {
    const value = record.value;
    if (record.type === "embedding" && Array.isArray(value)) {
      const head = value.slice(0, 4).map((x) => (typeof x === "number" ? x.toFixed(3) : x));
      return `[${head.join(", ")}${value.length > 4 ? ", …" : ""}] (${value.length} dims)`;
    }
    if (record.type === "tensor" && value && Array.isArray(value.shape)) {
      return `tensor shape [${value.shape.join(", ")}]`;
    }
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return text.length > 160 ? `${text.slice(0, 160)}…` : text;
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = `status ${kind || ""}`;
  }

  function setCrumbs(...items) {
    crumbs.replaceChildren(...items.flatMap((item, i) => (i === 0 ? [item] : [" / ", item])));
  }

  function route() {
    if (current) current.close();
    current = null;
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    if (parts[0] === "s" && parts[1]) {
      current = showSession(parts[1], parts[2] === "v" ? parts[3] : undefined);
    } else {
      current = showSessions();
    }
  }

  /** How often the sessions list asks again (sessions come and go on every bridge of a store). */
  const SESSIONS_POLL_MS = 2000;

  /** The sessions list, asked for again every SESSIONS_POLL_MS while the page is visible. */
  function showSessions() {
    setCrumbs(el("span", {}, "Sessions"));
    setStatus("", "");
    main.replaceChildren(el("p", { class: "muted" }, "Loading sessions…"));
    let closed = false;
    let shown = "";
    async function refresh() {
      if (closed || document.hidden) return;
      try {
        const { sessions } = await getJson("/api/sessions");
        if (closed) return;
        setStatus(`updated ${new Date().toLocaleTimeString()}`, "live");
        const text = JSON.stringify(sessions);
        if (text === shown) return;
        shown = text;
        render(sessions);
      } catch (error) {
        if (closed) return;
        shown = "";
        setStatus("unreachable", "down");
        main.replaceChildren(el("p", { class: "error" }, String(error.message || error)));
      }
    }
    function render(sessions) {
      const again = el("button", { onclick: () => refresh() }, "Refresh");
      const rows = sessions.map((s) =>
        el(
          "tr",
          { "data-session": s.id },
          el("td", {}, el("a", { href: sessionLink(s.id) }, s.id)),
          el("td", {}, s.variableCount),
          el("td", {}, new Date(s.createdAt).toLocaleString()),
          el("td", {}, new Date(s.lastAccessAt).toLocaleString()),
          el("td", { class: "value" }, JSON.stringify(s.metadata)),
        ),
      );
      main.replaceChildren(
        el("h2", {}, `${sessions.length} session${sessions.length === 1 ? "" : "s"} `, again),
        sessions.length === 0
          ? el("p", { class: "muted" }, "No sessions yet.")
          : el(
              "table",
              { id: "sessions" },
              el(
                "tr",
                {},
                ["session", "variables", "created", "last access", "metadata"].map((h) =>
                  el("th", {}, h),
                ),
              ),
              rows,
            ),
      );
    }
    const timer = setInterval(refresh, SESSIONS_POLL_MS);
    document.addEventListener("visibilitychange", refresh);
    refresh();
    return {
      close() {
        closed = true;
        clearInterval(timer);
        document.removeEventListener("visibilitychange", refresh);
      },
    };
  }

  /** One session: its variables live, a chart per numeric variable; `focus` names one variable. */
  function showSession(sessionId, focus) {
    const records = new Map();
    const rows = new Map();
    const charts = new Map();
    let pending = [];
    let loaded = false;
    let closed = false;
    const table = el(
      "table",
      { id: "variables" },
      el(
        "tr",
        {},
        ["variable", "type", "value", "version", "last writer", "updated"].map((h) =>
          el("th", {}, h),
        ),
      ),
    );
    const chartBox = el("div", { class: "charts", id: "charts" });
    const historyBox = el("div", { id: "history" });
    setCrumbs(
      el("a", { href: "#/" }, "Sessions"),
      focus === undefined
        ? el("span", {}, sessionId)
        : el("a", { href: sessionLink(sessionId) }, sessionId),
      ...(focus === undefined ? [] : [el("span", {}, focus)]),
    );
    main.replaceChildren(
      el("h2", {}, focus === undefined ? "Variables" : `Variable ${focus}`),
      table,
      el(
        "h2",
        {},
        focus === undefined ? "Numeric variables over their versions" : "Over its versions",
      ),
      chartBox,
      historyBox,
    );

    function row(record) {
      let tr = rows.get(record.id);
      const cells = [
        el("td", {}, el("a", { href: variableLink(sessionId, record.name) }, record.name)),
        el("td", {}, record.type),
        el("td", { class: "value" }, shown(record)),
        el("td", { class: "version" }, record.version),
        el("td", { class: "source" }, record.source),
        el("td", {}, time(record.updatedAt)),
      ];
      if (tr === undefined) {
        tr = el("tr", { "data-variable": record.name });
        rows.set(record.id, tr);
        table.append(tr);
      } else {
        tr.classList.remove("flash");
        void tr.offsetWidth;
        tr.classList.add("flash");
      }
      tr.setAttribute("data-variable", record.name);
      tr.setAttribute("data-version", String(record.version));
      tr.setAttribute("data-updated-at", String(now()));
      if (record.name === focus) tr.classList.add("focus");
      tr.replaceChildren(...cells);
    }

    function chartFor(record, versions) {
      if (!isNumeric(record) || (focus !== undefined && record.name !== focus)) return;
      const xs = versions.map((v) => v.version);
      const ys = versions.map((v) => toNumber(v.value));
      const box = el(
        "div",
        { class: "chart", "data-variable": record.name },
        el("h3", {}, record.name),
      );
      const wide = focus !== undefined;
      const plot = new uPlot(
        {
          width: wide ? Math.min(1100, main.clientWidth - 20) : 380,
          height: wide ? 320 : 200,
          scales: { x: { time: false } },
          legend: { show: wide },
          series: [
            { label: "version" },
            { label: record.name, stroke: "#2a6fdb", width: 2, points: { show: true, size: 6 } },
          ],
          axes: [{ label: "version" }, {}],
        },
        [xs, ys],
        box,
      );
      box.setAttribute("data-points", String(xs.length));
      chartBox.append(box);
      charts.set(record.id, { plot, xs, ys, box });
    }

    function toNumber(value) {
      const n = typeof value === "number" ? value : Number(value);
      return Number.isFinite(n) ? n : null;
    }

    function historyTable(versions) {
      if (focus === undefined) return;
      const body = versions.map((v) =>
        el(
          "tr",
          { "data-version": v.version },
          el("td", { class: "version" }, v.version),
          el("td", { class: "value" }, shown(v)),
          el("td", {}, v.source),
          el("td", { class: "value" }, JSON.stringify(v.metadata)),
          el("td", {}, time(v.updatedAt)),
        ),
      );
      historyBox.replaceChildren(
        el("h2", {}, `History (newest first, ${versions.length} retained)`),
        el(
          "table",
          { id: "history-table" },
          el(
            "tr",
            {},
            ["version", "value", "source", "metadata", "at"].map((h) => el("th", {}, h)),
          ),
          body,
        ),
      );
    }

    function apply(event) {
      const record = event.record;
      if (event.kind === "deleted") {
        records.delete(record.id);
        rows.get(record.id)?.remove();
        rows.delete(record.id);
        const chart = charts.get(record.id);
        if (chart) {
          chart.plot.destroy();
          chart.box.remove();
          charts.delete(record.id);
        }
        return;
      }
      const known = records.get(record.id);
      if (known && known.version >= record.version) return;
      records.set(record.id, record);
      row(record);
      const chart = charts.get(record.id);
      if (chart) {
        chart.xs.push(record.version);
        chart.ys.push(toNumber(record.value));
        chart.plot.setData([chart.xs, chart.ys]);
        chart.box.setAttribute("data-points", String(chart.xs.length));
      } else {
        chartFor(record, [record]);
      }
      if (focus === record.name) refreshHistory(record.name);
    }

    async function refreshHistory(name) {
      try {
        const { versions } = await getJson(`/api/sessions/${enc(sessionId)}/history/${enc(name)}`);
        if (!closed) historyTable(versions);
      } catch {
        // The variable went away meanwhile: the table shows what is left.
      }
    }

    /** Everything again, after the stream (re)opened: nothing committed since can be missed. */
    async function load() {
      loaded = false;
      try {
        const { variables } = await getJson(`/api/sessions/${enc(sessionId)}`);
        for (const chart of charts.values()) chart.plot.destroy();
        charts.clear();
        chartBox.replaceChildren();
        for (const tr of rows.values()) tr.remove();
        rows.clear();
        records.clear();
        for (const record of variables) {
          records.set(record.id, record);
          row(record);
        }
        for (const record of variables) {
          if (!isNumeric(record) || (focus !== undefined && record.name !== focus)) continue;
          const { versions } = await getJson(
            `/api/sessions/${enc(sessionId)}/history/${enc(record.name)}?limit=200`,
          );
          const latest = records.get(record.id) || record;
          chartFor(latest, versions.filter((v) => v.version <= latest.version).reverse());
        }
        if (focus !== undefined) await refreshHistory(focus);
        if (chartBox.childElementCount === 0) {
          chartBox.append(el("p", { class: "muted" }, "No numeric variables."));
        }
        loaded = true;
        const queued = pending;
        pending = [];
        for (const event of queued) apply(event);
        document.body.setAttribute("data-loaded", "true");
      } catch (error) {
        main.prepend(el("p", { class: "error" }, String(error.message || error)));
      }
    }

    const events = new EventSource(api(`/api/sessions/${enc(sessionId)}/events`));
    events.onopen = () => {
      setStatus("live", "live");
      load();
    };
    events.onerror = () => {
      if (!closed) setStatus("reconnecting…", "down");
    };
    events.addEventListener("change", (message) => {
      const event = JSON.parse(message.data);
      if (loaded) apply(event);
      else pending.push(event);
    });
    events.addEventListener("end", (message) => {
      const { reason } = JSON.parse(message.data);
      setStatus(`session ${reason}`, "down");
      events.close();
    });

    return {
      close() {
        closed = true;
        events.close();
        for (const chart of charts.values()) chart.plot.destroy();
      },
    };
  }

  window.addEventListener("hashchange", route);
  route();
})();
