//! The page's HTML: escaping (the `html-escape` crate), data URIs, sortable tables,
//! and the inline style and script.

use crate::stats::Table;
use base64::Engine as _;

/// Text escaped for HTML content and double-quoted attributes.
///
/// ```
/// assert_eq!(cem::report::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// A PNG as a `data:` URI, for an inline `<img src>`.
pub fn data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// A table that the page's script sorts: `<table id=ID class="sortable">`, one `<tbody>`
/// per section (its sub-header first, kept in place when sorting), notes under it. With
/// `link_rows`, the first cell of row `i` links to `#map-i`.
pub fn sortable_table(id: &str, t: &Table, link_rows: bool) -> String {
    let n = t.headers.len();
    let mut out = format!(
        "<div class=\"scroll\"><table id=\"{}\" class=\"sortable\">\n<caption>{}</caption>\n<thead><tr>",
        escape(id),
        escape(&t.title)
    );
    for (c, h) in t.headers.iter().enumerate() {
        out += &format!("<th data-col=\"{c}\" title=\"sort\">{}</th>", escape(h));
    }
    out += "</tr></thead>\n";
    let mut i = 0;
    for s in &t.sections {
        out += "<tbody>";
        if let Some(title) = &s.title {
            out += &format!(
                "<tr class=\"section\"><th colspan=\"{n}\">{}</th></tr>",
                escape(title)
            );
        }
        for row in &s.rows {
            out += "<tr class=\"row\">";
            for (c, cell) in row.iter().enumerate() {
                if c == 0 && link_rows {
                    out += &format!("<td><a href=\"#map-{i}\">{}</a></td>", escape(cell));
                } else {
                    out += &format!("<td>{}</td>", escape(cell));
                }
            }
            out += "</tr>\n";
            i += 1;
        }
        out += "</tbody>\n";
    }
    out += "</table></div>\n";
    for note in &t.notes {
        out += &format!("<p class=\"note\">{}</p>\n", escape(note));
    }
    out
}

const STYLE: &str = "
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:0}.meta{color:#666;font-size:90%}
nav{margin:8px 0 16px}
table{border-collapse:collapse;margin:12px 0;font-size:90%}
caption{font-weight:bold;text-align:left;padding:4px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
thead th{background:#eef;cursor:pointer;user-select:none}
thead th.asc::after{content:' \\25B2'}thead th.desc::after{content:' \\25BC'}
tr.section th{background:#f6f6f6;font-style:italic}
.note{font-size:85%;color:#555}.missing{color:#a33}
pre.config{background:#f8f8f8;border:1px solid #ddd;padding:8px;font-size:85%}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}
a.thumb{display:flex;flex-direction:column;border:1px solid #ccc;padding:6px;text-decoration:none;color:#222;font-size:80%;max-width:380px}
a.thumb:hover{border-color:#66c}
section.detail{border-top:1px solid #ccc;margin-top:16px}
img.panel{max-width:100%}
.scroll{overflow-x:auto}
table.settings th{background:#f6f6f6;width:12em}
";

/// Sorts every tbody's rows (not its section header) by a column; numbers (also the
/// first number of a "(lo, hi)" range) sort as numbers, the rest as text.
const SCRIPT: &str = r#"
function cemKey(td){const s=td.textContent.trim();const m=s.match(/^\(?\s*(-?\d+(\.\d+)?(e[-+]?\d+)?)/i);return m?parseFloat(m[1]):s.toLowerCase();}
function cemCmp(a,b){const na=typeof a==='number',nb=typeof b==='number';if(na&&nb)return a-b;if(na)return -1;if(nb)return 1;return a<b?-1:a>b?1:0;}
function cemSort(table,col,desc){
  for(const tb of table.tBodies){
    const rows=[...tb.rows].filter(r=>r.classList.contains('row'));
    rows.sort((x,y)=>cemCmp(cemKey(x.cells[col]),cemKey(y.cells[col]))*(desc?-1:1));
    for(const r of rows)tb.appendChild(r);
  }
  for(const th of table.tHead.rows[0].cells){th.classList.remove('asc','desc');}
  table.tHead.rows[0].cells[col].classList.add(desc?'desc':'asc');
  table.dataset.sorted=col+(desc?':desc':':asc');
}
for(const t of document.querySelectorAll('table.sortable')){
  for(const th of t.tHead.rows[0].cells){
    th.addEventListener('click',()=>{const c=+th.dataset.col;cemSort(t,c,th.classList.contains('asc'));});
  }
}
function cemFromHash(){
  const m=location.hash.match(/^#sort=([\w-]+):(\d+)(:desc)?$/);
  if(!m)return;const t=document.getElementById(m[1]);
  if(t&&t.tHead&&+m[2]<t.tHead.rows[0].cells.length)cemSort(t,+m[2],!!m[3]);
}
cemFromHash();window.addEventListener('hashchange',cemFromHash);
"#;

/// The whole page around `body`: inline style, the sorting script at the end.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}
