// The tooltip of Upcount's time charts (app/src/components/echarts.rs, `time_tooltip`):
// the time in the viewer's own zone and locale, then each line's exact value; a min/max
// band pair becomes one "min … max" line; series names are escaped (labels are user
// text). A file of the site's own rather than `new Function`, so the pages'
// Content-Security-Policy needs no 'unsafe-eval'.
window.upcountTimeTooltip = function (params) {
    var list = Array.isArray(params) ? params : [params];
    if (!list.length) { return ''; }
    var esc = function (text) {
        return String(text).replace(/[&<>"']/g, function (c) {
            return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
        });
    };
    var number = function (value) {
        return value == null ? '—' : Number(value).toLocaleString(undefined, {maximumFractionDigits: 2});
    };
    var when = new Date(list[0].value[0]).toLocaleString(undefined, {
        year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
        timeZoneName: 'short'
    });
    var out = '<strong>' + esc(when) + '</strong>';
    var min = null, span = null;
    list.forEach(function (p) {
        if (p.seriesName === 'min') { min = p.value[1]; return; }
        if (p.seriesName === 'max') { span = p.value[1]; return; }
        var extra = p.data && p.data.length > 2 ? ' <span style="opacity:.7">(' + esc(p.data[2]) + ')</span>' : '';
        out += '<br>' + p.marker + esc(p.seriesName) + ': <strong>' + number(p.value[1]) + '</strong>' + extra;
    });
    if (min != null && span != null && span > 0) {
        out += '<br>min ' + number(min) + ' · max ' + number(min + span);
    }
    return out;
};
