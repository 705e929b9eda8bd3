// A slider that sends its value while it is dragged, paced by the server.
//
// Streamlit's own slider commits only when the mouse is released. This one sends values during
// the drag, each tagged with a nonce ("value nonce"), and keeps at most IN_FLIGHT of them
// unacknowledged. The page draws this component after every heatmap and passes back the nonce of
// the last value its rerun applied (`data.ack`): everything sent up to that one is done. With two
// in flight the server computes the next value while the browser draws the last (reruns of a
// fragment queue behind each other, they do not interrupt). So the heatmaps show every value the
// server and the browser had time for, and the last value of a drag is always sent.
const IN_FLIGHT = 2;
const GIVE_UP_MS = 1500; // a rerun interrupted by another widget never acknowledges: stop waiting

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
    root.s = { sent: [], pending: null, timer: null, held: false, set: setStateValue };
    const s = root.s;
    s.show = (v) => {
      out.textContent = Number(v).toFixed(2);
      input.setAttribute("aria-valuetext", out.textContent);
    };
    s.flush = () => {
      if (s.sent.length >= IN_FLIGHT || s.pending === null) return;
      const nonce = Math.random().toString(36).slice(2, 12);
      s.sent.push(nonce);
      s.set("value", `${s.pending} ${nonce}`); // the nonce also makes a repeated value a change
      s.pending = null;
      clearTimeout(s.timer);
      s.timer = setTimeout(() => { s.sent = []; s.flush(); }, GIVE_UP_MS);
    };
    input.addEventListener("input", () => { s.pending = parseFloat(input.value); s.show(input.value); s.flush(); });
    input.addEventListener("pointerdown", () => { s.held = true; });
    s.release = () => { s.held = false; }; // the pointer may leave the thumb before the button is released
    window.addEventListener("pointerup", s.release);
    window.addEventListener("pointercancel", s.release);
  }
  const s = root.s;
  s.set = setStateValue;
  const input = root.querySelector("input");
  root.querySelector("label").textContent = data.label; // text, never markup
  if (!s.held) { // the range follows the value in force; mid-drag it stays put under the pointer
    input.min = data.lo;
    input.max = data.hi;
    input.step = data.step;
  }
  const done = s.sent.indexOf(data.ack);
  if (done >= 0) { // that value and every one sent before it are applied and drawn
    s.sent = s.sent.slice(done + 1);
    clearTimeout(s.timer);
    if (s.sent.length) s.timer = setTimeout(() => { s.sent = []; s.flush(); }, GIVE_UP_MS);
  }
  if (!s.held && s.sent.length === 0 && s.pending === null) { // not mid-drag: show the value in force
    input.value = data.value;
    s.show(data.value);
  }
  s.flush();
  return () => { // unmounted: stop listening to the window
    window.removeEventListener("pointerup", s.release);
    window.removeEventListener("pointercancel", s.release);
  };
}
