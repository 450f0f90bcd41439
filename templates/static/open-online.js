// Open Online works without JavaScript; with it, the page gets a Print
// button (the sender allowed printing, or the button is not on the page).
"use strict";
const printButton = document.getElementById("print");
if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}
