// The service worker: keeps a copy of the pages and the bundle so that the
// document list and any editor page open without a connection. Documents
// themselves live in IndexedDB (y-indexeddb), not here.
//
// Network first: when the server answers, its response is used and
// cached, so a new build shows up on the next load; when it does not (no
// network, server down, or no answer within networkTimeout), the cached
// copy is used. Every editor page is the same file, so /d/<any name>
// falls back to the cached /d/.

/* eslint-env serviceworker */

const cacheName = 'quire-pages-v1'
const networkTimeout = 4000
const shell = ['/', '/d/', '/assets/home.js', '/assets/home.css', '/assets/editor.js', '/assets/editor.css', '/favicon.svg']

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(cacheName).then((c) => c.addAll(shell)).then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== cacheName) await caches.delete(key)
    }
    await self.clients.claim()
  })())
})

/** @param {Request} request */
const fromNetwork = (request) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no answer in time')), networkTimeout)
  fetch(request).then((r) => { clearTimeout(timer); resolve(r) }, (e) => { clearTimeout(timer); reject(e) })
})

/**
 * @param {Request} request
 * @param {string | null} shared the cache key of a page many addresses share
 */
const networkFirst = async (request, shared) => {
  const cache = await caches.open(cacheName)
  const key = shared ?? request
  try {
    const response = await fromNetwork(request)
    if (response.ok && response.type === 'basic') await cache.put(key, response.clone())
    return response
  } catch (err) {
    const cached = await cache.match(key)
    if (cached) return cached
    throw err
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== self.location.origin) return
  const path = url.pathname
  if (path.startsWith('/ws/') || path === '/healthz' || path === '/sw.js' || path.endsWith('.map')) return
  if (path === '/new') {
    // Offline, a new document is named here, as the server would name it.
    event.respondWith(fetch(request).catch(() => Response.redirect('/d/' + self.crypto.randomUUID(), 303)))
    return
  }
  event.respondWith(networkFirst(request, path.startsWith('/d/') ? '/d/' : null))
})
