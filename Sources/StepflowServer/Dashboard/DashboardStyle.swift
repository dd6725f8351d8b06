/// `GET /dashboard/style.css`: the dashboard's one stylesheet (system fonts, no external asset). Narrow windows
/// get one column and tables that scroll sideways; focus is always visible for keyboard use.
enum DashboardStyle {
    static let css = """
        :root{--fg:#1d1f21;--muted:#666;--line:#e3e3e3;--bg:#fafafa;--card:#fff;--accent:#1f5fbf}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--fg);background:var(--bg)}
        header{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem;padding:.5rem 1rem;background:#20232a;color:#fff}
        header .brand{font-weight:700}
        header nav ul{display:flex;flex-wrap:wrap;gap:.2rem;list-style:none;margin:0;padding:0}
        header nav a{color:#dfe6f0;text-decoration:none;padding:.3rem .6rem;border-radius:4px;display:inline-block}
        header nav a[aria-current=page]{background:#3a3f4b;color:#fff;font-weight:600}
        header .clock{margin-left:auto;color:#aab}
        main{padding:1rem;max-width:1400px}
        h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.08rem;margin:1.4rem 0 .5rem}h3{font-size:1rem;margin:0 0 .3rem}
        a{color:var(--accent)}
        a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.4rem;z-index:9}
        .muted{color:var(--muted)}.small{font-size:12px;font-weight:normal}
        .num{font-variant-numeric:tabular-nums}
        code,pre{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
        pre{white-space:pre-wrap;margin:0}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;background:var(--card)}
        th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
        thead th{background:#f0f0f0;font-weight:600}
        caption{text-align:left;font-weight:600;padding:.3rem 0}
        .badge{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:12px;background:#eee}
        .healthy,.ok,.inactive{background:#e3f4e8;color:#17672f}
        .degraded,.pending,.warning,.warn,.acknowledged,.silenced,.timed_out{background:#fff1d6;color:#7a4a00}
        .unhealthy,.failing,.firing,.critical,.error,.fatal,.refused,.stuck{background:#fde2e2;color:#9d1c22;font-weight:600}
        .info,.debug,.trace,.started,.cancelled,.disabled{background:#e8eef8;color:#2a4a7a}
        form.filters,form.stacked{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;background:var(--card);padding:.6rem;border:1px solid var(--line);border-radius:6px}
        form.stacked{flex-direction:column;align-items:flex-start}
        label{display:inline-flex;flex-direction:column;font-size:12px;color:var(--muted);gap:.15rem}
        input,select,button,.button{font:inherit;font-size:14px;padding:.3rem .5rem;border:1px solid #bbb;border-radius:4px;background:#fff;color:var(--fg);max-width:100%}
        button,.button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer;text-decoration:none;display:inline-block}
        .facts{display:flex;flex-wrap:wrap;gap:.6rem;margin:0}
        .facts div{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.5rem .8rem;min-width:11rem}
        .facts dt{font-size:12px;color:var(--muted)}.facts dd{margin:0;font-size:1.2rem}
        .chart-box{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.6rem;margin:1rem 0}
        .chart-box h2{margin:0 0 .4rem}
        svg.chart{width:100%;height:auto;display:block}
        svg.chart .grid{stroke:#e6e6e6;stroke-width:1}
        svg.chart .axis{font-size:12px;fill:#666}
        svg.chart .series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
        svg.chart .hover{fill:transparent}svg.chart .hover:hover{fill:rgba(31,95,191,.08)}
        .s0{stroke:#1f77b4;background:#1f77b4}.s1{stroke:#d62728;background:#d62728}.s2{stroke:#2ca02c;background:#2ca02c}
        .s3{stroke:#ff7f0e;background:#ff7f0e}.s4{stroke:#9467bd;background:#9467bd}.s5{stroke:#8c564b;background:#8c564b}
        .s6{stroke:#e377c2;background:#e377c2}.s7{stroke:#7f7f7f;background:#7f7f7f}.s8{stroke:#bcbd22;background:#bcbd22}
        .s9{stroke:#17becf;background:#17becf}
        .legend{list-style:none;padding:0;margin:.4rem 0 0;display:flex;flex-wrap:wrap;gap:.2rem 1rem}
        .swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:middle}
        ol.logs,ol.waterfall{list-style:none;padding:0;margin:.6rem 0;background:var(--card);border:1px solid var(--line)}
        ol.logs li,ol.waterfall li{border-bottom:1px solid var(--line)}
        summary{cursor:pointer;padding:.3rem .5rem;list-style-position:inside}
        ol.logs .message{overflow-wrap:anywhere}
        table.context{margin:.2rem 0 .6rem 1.5rem;width:auto;max-width:calc(100% - 1.5rem)}
        table.context th{font-weight:600;color:var(--muted);white-space:nowrap}
        ol.waterfall summary{display:grid;grid-template-columns:minmax(10rem,28%) 1fr 6rem 5.5rem;gap:.5rem;align-items:center}
        ol.waterfall .span-name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        svg.bar{width:100%;height:12px;background:#f3f3f3}
        .status-ok,.status-started{fill:#2f7dd1}.status-error,.status-timed_out{fill:#c0262d}.status-cancelled{fill:#999}
        .d1 .span-name{padding-left:1rem}.d2 .span-name{padding-left:2rem}.d3 .span-name{padding-left:3rem}
        .d4 .span-name{padding-left:4rem}.d5 .span-name{padding-left:5rem}.d6 .span-name{padding-left:6rem}
        .d7 .span-name{padding-left:7rem}.d8 .span-name{padding-left:8rem}.d9 .span-name{padding-left:9rem}
        .d10 .span-name{padding-left:10rem}.d11 .span-name{padding-left:11rem}.d12 .span-name{padding-left:12rem}
        article.alert{background:var(--card);border:1px solid var(--line);border-left:4px solid #bbb;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}
        article.alert[data-status=firing]{border-left-color:#c0262d}article.alert[data-status=pending]{border-left-color:#d99100}
        article.alert[data-status=acknowledged]{border-left-color:#2f7dd1}
        article.alert p{margin:.25rem 0}
        .annotations{margin:.3rem 0}.annotations div{display:flex;gap:.5rem}.annotations dt{font-weight:600;flex:none;overflow-wrap:normal}.annotations dd{margin:0;min-width:0;overflow-wrap:anywhere}
        article.alert,article.alert h3{overflow-wrap:anywhere}
        .actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end;margin-top:.5rem}
        .actions form{display:flex;gap:.4rem;align-items:flex-end}
        .notice{background:#e3f4e8;border:1px solid #b7dfc2;padding:.5rem .8rem;border-radius:6px}
        .problem{background:#fde2e2;border:1px solid #f2b8b8;padding:.5rem .8rem;border-radius:6px}
        .pager{margin:.8rem 0;display:flex;gap:1rem}
        @media (max-width:700px){
          main{padding:.6rem}
          ol.waterfall summary{grid-template-columns:1fr 5rem 5.5rem;grid-auto-rows:auto}
          ol.waterfall svg.bar{grid-column:1 / -1}
          form.filters{flex-direction:column;align-items:stretch}
          header .clock{margin-left:0}
        }
        """
}
