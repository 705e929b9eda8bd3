// A slider that sends its value while it is dragged, paced by the server.
//
// Streamlit's own slider commits only when the mouse is released. This one sends a value during
// the drag, but never more than one at a time: the next value leaves only when the rerun of the
// last one has drawn this component again (the page draws it after every heatmap, and passes a
// new `run` id each time). So the heatmaps show every value the server had time for, at the
// rate it can serve, and the last value of the drag is always sent.
export default function (component) {
  const { data, setStateValue, parentElement } = component;
  let root = parentElement.querySelector(".live");
  if (!root) {
    root = document.createElement("div");
    root.className = "live";
    const label = document.createElement("label");
    label.htmlFor = "thumb";
    const input = document.createElement("input");
    input.type = "range";
    input.id = "thumb";
    const out = document.createElement("output");
    out.htmlFor = "thumb";
    root.append(label, input, out);
    parentElement.appendChild(root);
    root.s = { inflight: false, pending: null, timer: null, run: null, held: false, set: setStateValue };
    const s = root.s;
    const show = (v) => {
      out.textContent = Number(v).toFixed(2);
      input.setAttribute("aria-valuetext", out.textContent);
    };
    s.show = show;
    s.flush = () => {
      if (s.inflight || s.pending === null) return;
      s.inflight = true;
      s.set("value", `${s.pending} ${Math.random()}`); // "value nonce": a repeated value is still a change
      s.pending = null;
      clearTimeout(s.timer); // a rerun interrupted by another widget never acknowledges: give up waiting
      s.timer = setTimeout(() => { s.inflight = false; s.flush(); }, 1500);
    };
    input.addEventListener("input", () => { s.pending = parseFloat(input.value); show(input.value); s.flush(); });
    input.addEventListener("pointerdown", () => { s.held = true; });
    s.release = () => { s.held = false; }; // the pointer may leave the thumb before the button is released
    window.addEventListener("pointerup", s.release);
    window.addEventListener("pointercancel", s.release);
  }
  const s = root.s;
  s.set = setStateValue;
  const input = root.querySelector("input");
  root.querySelector("label").textContent = data.label; // text, never markup
  input.min = data.lo;
  input.max = data.hi;
  input.step = data.step;
  if (data.run !== s.run) { // a rerun drew the page down to here: the last value is acknowledged
    s.run = data.run;
    s.inflight = false;
    clearTimeout(s.timer);
  }
  if (!s.held && !s.inflight && s.pending === null) { // not mid-drag: show the value in force
    input.value = data.value;
    s.show(data.value);
  }
  s.flush();
  return () => { // unmounted: stop listening to the window
    window.removeEventListener("pointerup", s.release);
    window.removeEventListener("pointercancel", s.release);
  };
}
