// MathJax for pymdownx.arithmatex (generic mode): $...$ inline, $$...$$ display.
// Loaded before the vendored javascripts/mathjax/tex-chtml.js, which reads it.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

document$.subscribe(() => {
  MathJax.typesetPromise();
});
