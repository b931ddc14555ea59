// WCAG contrast ratio of each visible element matching the selector, computed in the page.
(selector) => {
  function rgb(s) { const m = s.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
  function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
  function bg(el) { while (el) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0.5) return c; el = el.parentElement; }
                    return {r: 255, g: 255, b: 255, a: 1}; }
  return [...document.querySelectorAll(selector)].filter(el => el.offsetParent !== null && el.textContent.trim())
    .map(el => { const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
                 return {text: el.textContent.trim().slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)}; });
}
