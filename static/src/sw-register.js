// Registers the service worker (sw.js) that lets the pages open offline.

export const registerServiceWorker = () => {
  if (!('serviceWorker' in navigator)) return
  navigator.serviceWorker.register('/sw.js').catch((err) => {
    console.warn('quire: no offline support, the service worker did not register:', err)
  })
}
