/* wscope HTML report: everything is drawn from the data embedded in the
 * page (base64 JSON in #wscope-data). Text from the capture only ever
 * reaches the page as textContent, never as markup. No network access. */
'use strict';
(function () {
  var PAGE = 200;
  var F_COMPRESSED = 1, F_TRUNCATED = 2, F_GAP = 4, F_BADUTF8 = 8, F_BASE64 = 16, F_NOINFLATE = 32, F_BOMB = 64;
  var OPS = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
  var CLOSE = { 1000: 'normal closure', 1001: 'going away', 1002: 'protocol error', 1003: 'unsupported data',
    1005: 'no status', 1006: 'abnormal closure', 1007: 'invalid payload data', 1008: 'policy violation',
    1009: 'message too big', 1010: 'mandatory extension', 1011: 'internal error', 1012: 'service restart',
    1013: 'try again later', 1014: 'bad gateway', 1015: 'TLS handshake' };
  /* The first n characters of s, never half of one (a surrogate pair). */
  /* Text from the capture, with what would not show or would reorder what
   * is around it (controls, bidi and zero-width format characters, the
   * line and paragraph separators) written as escapes; tabs and line
   * breaks stay. */
  var INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;
  function vis(s) {
    if (typeof s !== 'string') return s;
    return s.replace(INVISIBLE, function (ch) {
      var c = ch.charCodeAt(0);
      return c < 0x100 ? '\\x' + (c < 16 ? '0' : '') + c.toString(16) : '\\u' + c.toString(16);
    });
  }

  function cut(s, n) {
    if (s.length <= n) return s;
    var k = n;
    var c = s.charCodeAt(k - 1);
    if (c >= 0xd800 && c <= 0xdbff) k--;
    return s.slice(0, k) + ' ...';
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function load() {
    var raw = document.getElementById('wscope-data').textContent.replace(/\s+/g, '');
    var bin = atob(raw);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return JSON.parse(new TextDecoder('utf-8').decode(bytes));
  }
  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }
  function fmtTime(t, digits) {
    var ms = Math.floor(t * 1000);
    var d = new Date(ms);
    var s = d.toISOString().replace('T', ' ').replace('Z', '');
    var frac = (t - Math.floor(t)).toFixed(digits || 6).slice(1);
    return s.slice(0, 19) + frac + ' UTC';
  }
  function fmtDur(s) {
    if (s === null || s === undefined) return '';
    if (s < 1) return (s * 1000).toFixed(3) + ' ms';
    if (s < 120) return s.toFixed(3) + ' s';
    return (s / 60).toFixed(1) + ' min';
  }
  function closeText(code) {
    if (code === null || code === undefined || code < 0) return '';
    var m = CLOSE[code] || (code >= 4000 && code <= 4999 ? 'private use (application)' :
      code >= 3000 && code <= 3999 ? 'registered (library/framework)' : 'unknown');
    return code + ' ' + m;
  }
  function b64bytes(s) {
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(bytes, limit) {
    var lines = [];
    var n = Math.min(bytes.length, limit);
    for (var off = 0; off < n; off += 16) {
      var h = '', a = '';
      for (var i = off; i < off + 16; i++) {
        if (i < n) {
          var b = bytes[i];
          h += (b < 16 ? '0' : '') + b.toString(16) + ' ';
          a += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
        } else {
          h += '   ';
        }
        if (i === off + 7) h += ' ';
      }
      lines.push(('0000000' + off.toString(16)).slice(-8) + '  ' + h + ' ' + a);
    }
    if (bytes.length > n) lines.push('... ' + (bytes.length - n) + ' more bytes');
    return lines.join('\n');
  }
  /* What a message shows: text, JSON pretty-printed, or hex. */
  function payloadText(m, full) {
    var data = m[6], flags = m[5];
    if (flags & F_GAP) return '(bytes missing: not captured)';
    if (data === null || data === undefined) return '';
    if (flags & F_BASE64) {
      var bytes = b64bytes(data);
      if (!full) {
        var p = [];
        for (var i = 0; i < Math.min(bytes.length, 48); i++) p.push((bytes[i] < 16 ? '0' : '') + bytes[i].toString(16));
        return p.join(' ') + (bytes.length > 48 ? ' ...' : '');
      }
      return hex(bytes, 65536);
    }
    if (full) {
      var t = data.replace(/^\s+/, '');
      if (t.charAt(0) === '{' || t.charAt(0) === '[') {
        try { return vis(JSON.stringify(JSON.parse(data), null, 2)); } catch (e) { /* not JSON: as it is */ }
      }
      return vis(data);
    }
    return vis(cut(data, 400));
  }

  var D, conns, sel = null, page = 0, sortKey = 'id', sortDir = 1, seqFilter = '';

  function summary() {
    var s = document.getElementById('summary');
    var msgs = [0, 0], bytes = [0, 0], lost = 0, warns = 0, first = null, last = null, sessions = 0, polls = 0;
    conns.forEach(function (c) {
      polls += c.polls || 0;
      if (c.status === 0 && c.polls > 0) {
        sessions++; /* a session on long-polling: no WebSocket messages */
      } else {
        msgs[0] += c.counts[0]; msgs[1] += c.counts[1];
        bytes[0] += c.bytes[0]; bytes[1] += c.bytes[1];
      }
      lost += c.lost[0] + c.lost[1];
      warns += c.w.length;
      if (first === null || c.start < first) first = c.start;
      var e = c.end !== null ? c.end : c.start;
      if (last === null || e > last) last = e;
    });
    var cards = [
      ['capture', D.source],
      ['time span', first === null ? '-' : fmtDur(last - first)],
      ['connections', (conns.length - sessions) + (sessions ? ' and ' + sessions + ' Socket.IO session' +
        (sessions === 1 ? '' : 's') + ' on long-polling' : '')],
      ['messages', (msgs[0] + msgs[1]) + ' (' + msgs[0] + ' \u2192, ' + msgs[1] + ' \u2190)'],
      ['bytes', fmtBytes(bytes[0] + bytes[1])],
      ['warnings', warns + D.capwarnings.length],
      ['bytes lost', lost]
    ].concat(polls ? [['long-polling exchanges', polls]] : []);
    var box = el('div', 'cards');
    cards.forEach(function (c) {
      var card = el('div', 'card');
      card.appendChild(el('div', 'k', c[0]));
      var v = el('div', 'v', c[1]);
      if ((c[0] === 'bytes lost' || c[0] === 'warnings') && c[1] > 0) v.className = 'v bad';
      card.appendChild(v);
      box.appendChild(card);
    });
    s.appendChild(box);
    if (first !== null) s.appendChild(el('p', 'muted', 'From ' + fmtTime(first, D.digits) + ' to ' + fmtTime(last, D.digits)));
  }

  var COLS = [
    ['id', '#', 'num', function (c) { return c.id; }],
    ['client', 'client', '', function (c) { return c.client; }],
    ['url', 'URL', 'url', function (c) { return vis(c.url); }],
    ['status', 'status', 'num', function (c) { return c.status === 0 && c.polls > 0 ? 'polling' : c.status; }],
    ['proto', 'subprotocol', '', function (c) { return c.proto || (c.app ? '(' + c.app + ')' : ''); }],
    ['ext', 'deflate / TLS', '', function (c) { return (c.deflate ? 'deflate ' : '') + (c.tls ? (c.tlsVersion || 'TLS') : ''); }],
    ['c2s', 'msgs \u2192', 'num', function (c) { return c.counts[0]; }],
    ['s2c', 'msgs \u2190', 'num', function (c) { return c.counts[1]; }],
    ['bytes', 'bytes', 'num', function (c) { return c.bytes[0] + c.bytes[1]; }],
    ['dur', 'duration', 'num', function (c) { return c.end !== null ? c.end - c.start : 0; }],
    ['end', 'end', '', function (c) { return c.endReason || 'open'; }],
    ['close', 'close c/s', '', function (c) {
      return (c.close[0] >= 0 ? c.close[0] : '-') + ' / ' + (c.close[1] >= 0 ? c.close[1] : '-');
    }],
    ['warn', 'warnings', 'num', function (c) { return c.w.length; }]
  ];

  function connTable() {
    var t = document.getElementById('conntable');
    t.textContent = '';
    var thead = el('thead'), tr = el('tr');
    COLS.forEach(function (col) {
      var th = el('th', col[2] === 'num' ? 'num' : '', col[1]);
      th.dataset.key = col[0];
      if (sortKey === col[0]) th.className += sortDir > 0 ? ' sorted-asc' : ' sorted-desc';
      th.addEventListener('click', function () {
        if (sortKey === col[0]) sortDir = -sortDir; else { sortKey = col[0]; sortDir = 1; }
        connTable();
      });
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    t.appendChild(thead);
    var get = COLS.filter(function (c) { return c[0] === sortKey; })[0][3];
    var rows = conns.slice().sort(function (a, b) {
      var x = get(a), y = get(b);
      return (x < y ? -1 : x > y ? 1 : a.id - b.id) * sortDir;
    });
    var tb = el('tbody');
    rows.forEach(function (c) {
      var r = el('tr', 'conn' + (sel === c ? ' sel' : ''));
      r.dataset.conn = c.id;
      COLS.forEach(function (col) {
        var v = col[3](c);
        if (col[0] === 'dur') v = c.end !== null ? fmtDur(c.end - c.start) : '';
        if (col[0] === 'bytes') v = fmtBytes(v);
        if (col[0] === 'status' && c.status !== 101 && c.reason) v = c.status + ' ' + c.reason;
        var td = el('td', col[2], v);
        if (col[0] === 'url') td.title = vis(c.url);
        if (col[0] === 'close') td.title = 'client: ' + (closeText(c.close[0]) || 'none') + '; server: ' +
          (closeText(c.close[1]) || 'none');
        if (col[0] === 'warn' && c.w.length > 0) td.className += ' bad';
        r.appendChild(td);
      });
      r.addEventListener('click', function () { select(c); });
      tb.appendChild(r);
    });
    t.appendChild(tb);
  }

  function timeline() {
    var box = document.getElementById('timeline');
    var all = [];
    conns.forEach(function (c) { c.m.forEach(function (m) { all.push([c.start + m[0], m[1], m[3]]); }); });
    if (all.length === 0) { box.appendChild(el('p', 'empty', 'No messages.')); return; }
    var t0 = all[0][0], t1 = all[0][0];
    all.forEach(function (x) { if (x[0] < t0) t0 = x[0]; if (x[0] > t1) t1 = x[0]; });
    var N = 120, span = Math.max(t1 - t0, 1e-6), w = span / N;
    var cnt = [new Array(N).fill(0), new Array(N).fill(0)], siz = [new Array(N).fill(0), new Array(N).fill(0)];
    all.forEach(function (x) {
      var i = Math.min(N - 1, Math.floor((x[0] - t0) / w));
      cnt[x[1]][i]++; siz[x[1]][i] += x[2];
    });
    var W = 960, H = 130, pad = 34, top = 16;
    var s = svg('svg', { viewBox: '0 0 ' + W + ' ' + (2 * (H + top) + 30), role: 'img' });
    s.appendChild(svg('title', {})).textContent = 'Messages and bytes per ' + fmtDur(w) + ', client to server up, server to client down';
    function chart(series, y0, label, fmt) {
      var max = 1;
      series[0].concat(series[1]).forEach(function (v) { if (v > max) max = v; });
      var mid = y0 + top + H / 2, bw = (W - pad - 8) / N;
      s.appendChild(svg('line', { x1: pad, x2: W - 8, y1: mid, y2: mid, stroke: '#9aa4b2', 'stroke-width': 1 }));
      for (var i = 0; i < N; i++) {
        var h0 = series[0][i] / max * (H / 2 - 8), h1 = series[1][i] / max * (H / 2 - 8);
        if (h0 > 0) s.appendChild(svg('rect', { x: pad + i * bw, y: mid - h0, width: Math.max(bw - 1, 1), height: h0, fill: '#1f6feb' }));
        if (h1 > 0) s.appendChild(svg('rect', { x: pad + i * bw, y: mid, width: Math.max(bw - 1, 1), height: h1, fill: '#b35900' }));
      }
      var tl = svg('text', { x: 2, y: y0 + 12, 'font-size': 11, fill: '#5f6b7a' });
      tl.textContent = label + ' (max ' + fmt(max) + ')';
      s.appendChild(tl);
    }
    chart(cnt, 0, 'messages', function (v) { return v; });
    chart(siz, H + top + 10, 'bytes', fmtBytes);
    var a = svg('text', { x: pad, y: 2 * (H + top) + 26, 'font-size': 11, fill: '#5f6b7a' });
    a.textContent = fmtTime(t0, 3);
    s.appendChild(a);
    var b = svg('text', { x: W - 8, y: 2 * (H + top) + 26, 'font-size': 11, fill: '#5f6b7a', 'text-anchor': 'end' });
    b.textContent = '+' + fmtDur(span);
    s.appendChild(b);
    box.appendChild(s);
    var lg = el('div', 'legend');
    [['#1f6feb', 'client \u2192 server'], ['#b35900', 'server \u2192 client']].forEach(function (x) {
      var sp = el('span'); var sw = el('span', 'sw'); sw.style.background = x[0];
      sp.appendChild(sw); sp.appendChild(document.createTextNode(x[1])); lg.appendChild(sp);
    });
    lg.appendChild(el('span', 'muted', 'bucket ' + fmtDur(w)));
    box.appendChild(lg);
  }

  /* Ping round trips: a pong from the other side answers the oldest ping
   * still waiting with the same payload. */
  function rtts(c) {
    var wait = [[], []], out = [[], []], sent = [0, 0];
    c.m.forEach(function (m) {
      if (m[2] === 9) { sent[m[1]]++; wait[m[1]].push(m); }
      else if (m[2] === 10) {
        var q = wait[1 - m[1]];
        for (var i = 0; i < q.length; i++) {
          if (q[i][6] === m[6] && (q[i][5] & F_BASE64) === (m[5] & F_BASE64)) { out[1 - m[1]].push(m[0] - q[i][0]); q.splice(i, 1); break; }
        }
      }
    });
    return { sent: sent, rtt: out };
  }
  function pct(v, q) {
    if (v.length === 0) return null;
    var s = v.slice().sort(function (a, b) { return a - b; });
    return s[Math.max(1, Math.min(s.length, Math.ceil(q * s.length - 1e-9))) - 1];
  }
  function pings() {
    var t = document.getElementById('pingtable');
    var rows = 0;
    var thead = el('thead'), tr = el('tr');
    ['#', 'pings from', 'sent', 'answered', 'min', 'median', 'p99', 'max'].forEach(function (h, i) {
      tr.appendChild(el('th', i >= 2 ? 'num' : '', h));
    });
    thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody');
    conns.forEach(function (c) {
      var r = rtts(c);
      for (var d = 0; d < 2; d++) {
        if (r.sent[d] === 0) continue;
        rows++;
        var v = r.rtt[d];
        var row = el('tr');
        [c.id, d === 0 ? 'client' : 'server', r.sent[d], v.length,
          v.length ? fmtDur(pct(v, 0)) : '', v.length ? fmtDur(pct(v, 0.5)) : '', v.length ? fmtDur(pct(v, 0.99)) : '',
          v.length ? fmtDur(pct(v, 1)) : ''].forEach(function (x, i) { row.appendChild(el('td', i >= 2 ? 'num' : '', x)); });
        tb.appendChild(row);
      }
    });
    t.appendChild(tb);
    if (rows === 0) { t.textContent = ''; t.parentNode.appendChild(el('p', 'empty', 'No pings.')); }
  }

  /* Requests by operation (a decoder ran): asked, answered, time to the
   * first answer; the section goes when there are none. */
  function operations() {
    var box = document.getElementById('opsbox'), t = document.getElementById('opstable');
    var ops = D.operations || [];
    if (ops.length === 0) { box.remove(); return; }
    var thead = el('thead'), tr = el('tr');
    ['protocol', 'operation', 'requests', 'answered', 'p50', 'p90', 'p99', 'max'].forEach(function (h, i) {
      tr.appendChild(el('th', i >= 2 ? 'num' : '', h));
    });
    thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody');
    ops.forEach(function (o) {
      var l = o.latency, r = el('tr');
      [o.proto, vis(o.op), o.requests, o.answered, l ? fmtDur(l.p50) : '', l ? fmtDur(l.p90) : '',
        l ? fmtDur(l.p99) : '', l ? fmtDur(l.max) + (l.sampled ? ' *' : '') : ''].forEach(function (x, i) {
        r.appendChild(el('td', i >= 2 ? 'num' : '', x));
      });
      tb.appendChild(r);
    });
    t.appendChild(tb);
    box.appendChild(el('p', 'empty', (D.unanswered || 0) + ' request' + (D.unanswered === 1 ? '' : 's') +
      ' never answered; times are to the first answer' + (ops.some(function (o) { return o.latency && o.latency.sampled; }) ?
      ' (* sampled)' : '') + '.'));
  }

  function warnings() {
    var t = document.getElementById('warntable');
    var thead = el('thead'), tr = el('tr');
    ['#', 'time', 'code', 'warning'].forEach(function (h) { tr.appendChild(el('th', '', h)); });
    thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody'), n = 0;
    D.capwarnings.forEach(function (w) {
      var r = el('tr'); [ '', '', w[0], w[1] ].forEach(function (x) { r.appendChild(el('td', '', x)); }); tb.appendChild(r); n++;
    });
    conns.forEach(function (c) {
      c.w.forEach(function (w) {
        var r = el('tr');
        [c.id, '+' + fmtDur(w[0]), w[2], vis(w[3])].forEach(function (x) { r.appendChild(el('td', '', x)); });
        tb.appendChild(r); n++;
      });
    });
    t.appendChild(tb);
    if (n === 0) { t.textContent = ''; t.parentNode.appendChild(el('p', 'empty', 'No warnings.')); }
  }

  /* The rows of the sequence view: messages, warnings and losses by time. */
  function seqRows(c) {
    var rows = [];
    c.m.forEach(function (m, i) { rows.push({ t: m[0], k: 'm', m: m, n: m[12] ? (m[11] ? 'p' + m[11] : '') : (m[11] || i + 1) }); });
    c.w.forEach(function (w) { rows.push({ t: w[0], k: 'w', w: w }); });
    c.l.forEach(function (l) { rows.push({ t: l[0], k: 'l', l: l }); });
    rows.sort(function (a, b) { return a.t - b.t || (a.k === 'm' ? 1 : -1); });
    if (seqFilter) {
      var f = seqFilter.toLowerCase();
      rows = rows.filter(function (r) {
        if (r.k !== 'm') return false;
        var d = r.m[6];
        return (r.m[5] & F_BASE64) === 0 && d !== null && d.toLowerCase().indexOf(f) >= 0;
      });
    }
    return rows;
  }

  function msgCard(c, r) {
    if (r.k !== 'm') {
      var wcard = el('div', 'msg row-warn');
      var meta = el('div', 'meta');
      meta.appendChild(el('b', '', '+' + fmtDur(r.t)));
      if (r.k === 'w') meta.appendChild(document.createTextNode('  ' + r.w[2] + ': ' + vis(r.w[3])));
      else meta.appendChild(document.createTextNode('  ' + r.l[2] + ' bytes lost ' + (r.l[1] === 0 ? 'client \u2192 server' : 'server \u2192 client')));
      wcard.appendChild(meta);
      return wcard;
    }
    var m = r.m;
    var card = el('div', 'msg ' + (m[1] === 0 ? 'c2s' : 's2c'));
    card.dataset.n = r.n;
    var meta = el('div', 'meta');
    meta.appendChild(el('b', '', (r.n !== '' ? '#' + r.n + ' ' : '') + (m[12] ? 'long-polling ' + m[12] : (OPS[m[2]] || ('opcode ' + m[2])))));
    if (m[8] !== null && m[8] !== undefined) {
      /* decoded: the protocol's line, and the request it answers */
      meta.appendChild(document.createTextNode('  '));
      meta.appendChild(el('span', 'app', vis(m[8])));
      if (m[9] > 0)
        meta.appendChild(el('span', 'reply', '  \u21a9 #' + (m[13] ? 'p' : '') + m[9] + (m[10] >= 0 ? ' ' + fmtDur(m[10]) : '') +
          (m[14] > 0 ? ' (and ' + m[14] + ' more request' + (m[14] === 1 ? '' : 's') + ')' : '')));
    }
    var info = '  +' + fmtDur(m[0]) + '  ' + m[3] + ' B';
    if (m[5] & F_COMPRESSED) info += ' (' + m[4] + ' B compressed)';
    if (m[2] === 8 && m[7] >= 0) info += '  ' + closeText(m[7]);
    if (m[5] & F_TRUNCATED) info += '  truncated';
    if (m[5] & F_BADUTF8) info += '  invalid UTF-8';
    if (m[5] & F_NOINFLATE) info += '  not inflated';
    if (m[5] & F_BOMB) info += '  decompression bomb';
    meta.appendChild(document.createTextNode(info));
    card.appendChild(meta);
    var pv = el('div', 'pv', payloadText(m, false));
    card.appendChild(pv);
    card.addEventListener('click', function () {
      var open = card.classList.toggle('open');
      var full = card.querySelector('pre.full');
      if (open && !full) { card.appendChild(el('pre', 'full', payloadText(m, true))); pv.style.display = 'none'; }
      else if (!open && full) { full.remove(); pv.style.display = ''; }
    });
    return card;
  }

  function renderSeq() {
    var box = document.getElementById('seq');
    box.textContent = '';
    if (sel === null) { box.appendChild(el('p', 'empty', 'Choose a connection above to see its messages.')); return; }
    var c = sel;
    var h = el('h2', '', 'Connection #' + c.id + ': ' + c.client + ' \u2192 ' + c.server);
    box.appendChild(h);
    var polling = c.status === 0 && c.polls > 0;
    box.appendChild(el('div', 'url', vis(polling ? 'Socket.IO session ' + c.sid + ' on HTTP long-polling' :
      c.url + (c.proto ? '  (subprotocol ' + c.proto + ')' : '') +
      (c.sid ? '  Socket.IO session ' + c.sid + (c.session ? ', began on long-polling (#' + c.session + ')' : '') : '')) +
      (c.polls ? ', ' + c.polls + ' long-polling exchange' + (c.polls === 1 ? '' : 's') + ' (#p cards)' : '') +
      (c.app ? '; decoded as ' + c.app + (c.unanswered !== undefined ? ', ' + c.unanswered + ' request' +
        (c.unanswered === 1 ? '' : 's') + ' unanswered' : '') : '')));
    var rows = seqRows(c);
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    if (page >= pages) page = pages - 1;
    var bar = el('div', 'bar');
    function btn(label, p, dis) {
      var b = el('button', '', label);
      b.disabled = dis;
      b.addEventListener('click', function () { page = p; renderSeq(); });
      bar.appendChild(b);
    }
    btn('\u00ab first', 0, page === 0);
    btn('\u2039 prev', page - 1, page === 0);
    bar.appendChild(el('span', 'pageinfo', 'page ' + (page + 1) + ' of ' + pages + ' (' + rows.length + ' row' +
      (rows.length === 1 ? '' : 's') + ')'));
    btn('next \u203a', page + 1, page >= pages - 1);
    btn('last \u00bb', pages - 1, page >= pages - 1);
    var search = el('input');
    search.type = 'search';
    search.placeholder = 'find text in messages';
    search.value = seqFilter;
    search.addEventListener('change', function () { seqFilter = search.value; page = 0; renderSeq(); });
    bar.appendChild(search);
    if (c.dropped > 0) bar.appendChild(el('span', 'bad', c.dropped + ' older rows not kept (memory budget)'));
    box.appendChild(bar);
    var cols = el('div', 'cols');
    cols.appendChild(el('div', 'colhead c2s', 'client ' + c.client));
    cols.appendChild(el('div', 'colhead s2c', 'server ' + c.server));
    rows.slice(page * PAGE, (page + 1) * PAGE).forEach(function (r) { cols.appendChild(msgCard(c, r)); });
    if (rows.length === 0) box.appendChild(el('p', 'empty', 'No messages.'));
    box.appendChild(cols);
  }

  function select(c) {
    sel = c; page = 0; seqFilter = '';
    connTable();
    renderSeq();
    document.getElementById('seq').scrollIntoView();
  }

  function main() {
    D = load();
    conns = D.conns;
    var b = document.getElementById('banner');
    b.textContent = D.redacted ?
      'Redacted: secret headers, token-like query parameters and JSON keys are shown as [redacted].' :
      'NOT redacted: this report may hold tokens, cookies and other secrets from the capture.';
    b.className = D.redacted ? 'redacted' : 'plain';
    document.getElementById('subtitle').textContent = D.source + ' \u2014 wscope ' + D.version +
      (D.filter ? ' \u2014 filter: ' + D.filter : '');
    summary();
    connTable();
    timeline();
    pings();
    operations();
    warnings();
    renderSeq();
    if (conns.length > 0 && conns.length <= 50) select(conns[0]);
    window.scrollTo(0, 0);
    window.wscopeReadyMs = performance.now();
    window.wscopeReady = true;
  }
  main();
})();
