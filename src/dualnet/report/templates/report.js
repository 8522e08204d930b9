// Copy buttons: the fix commands go to the clipboard (the Clipboard API, or the older
// execCommand where a file:// page may not use it).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const text = document.getElementById(button.dataset.target).textContent;
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch (_) {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
    area.remove();
  }
  button.dataset.copied = copied ? "yes" : "no";
  button.textContent = copied ? "copied" : "select and copy";
});
