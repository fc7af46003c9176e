// The one aria-live region (index.html): results and page changes are read out from here.
export function announce(message: string): void {
  const region = document.getElementById('announcer')
  if (!region) return
  // Clearing first makes a repeated message (e.g. the same count twice) announce again.
  region.textContent = ''
  requestAnimationFrame(() => {
    region.textContent = message
  })
}
