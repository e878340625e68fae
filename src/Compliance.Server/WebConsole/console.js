// The report page frames the service's own rendering of the report; this fits the frame to the report's height.
for (const frame of document.querySelectorAll("iframe.report")) {
  const fit = () => {
    try {
      frame.style.height = frame.contentDocument.documentElement.scrollHeight + 24 + "px";
    } catch {
      // A frame that is not same-origin keeps its fixed height.
    }
  };
  frame.addEventListener("load", fit);
  if (frame.contentDocument?.readyState === "complete") fit();
}
