// The connection state shown to the user, derived from y-websocket's
// provider and the browser's network state.
//
// y-websocket reconnects by itself: after the n-th consecutive closed
// connection it waits min(100 ms · 2^n, maxBackoffTime) and counts from
// zero again once a connection has synced. It does not say when the next
// attempt is due, so the monitor counts closes the same way to show a
// countdown; when the attempt starts, the state becomes "connecting"
// whatever the countdown said. While the browser reports no network the
// provider is told not to reconnect (attempts would fail at once), and it
// connects as soon as the network is back.
//
// A refused handshake (HTTP 401/403 before the upgrade) and a server that
// cannot be reached look the same to a page: the socket fails without
// ever opening. failedAttempts counts such attempts in a row, so that the
// page can say what may be wrong after a few.

/**
 * @typedef {'connecting' | 'syncing' | 'online' | 'offline' | 'stopped'} Phase
 *
 * @typedef {object} ConnectionState
 * @property {Phase} phase
 * @property {number | null} retryAt   when the next attempt starts (ms since epoch), if one is scheduled
 * @property {boolean} network         whether the browser reports a network
 * @property {string} closedReason     for 'stopped': why the server refused us
 * @property {number} closedCode       for 'stopped': the close code
 * @property {number} failedAttempts   consecutive attempts that never opened a socket
 */

export class ConnectionMonitor {
  /**
   * @param {import('y-websocket').WebsocketProvider} provider
   * @param {object} opts
   * @param {(s: ConnectionState) => void} opts.onChange
   * @param {() => number} [opts.now]
   */
  constructor (provider, { onChange, now = Date.now }) {
    this.provider = provider
    this.onChange = onChange
    this.now = now
    this.failures = 0
    this.retryAt = null
    this.closedReason = ''
    this.closedCode = 0
    this.failedAttempts = 0
    this.network = navigator.onLine

    provider.on('status', ({ status }) => {
      if (status === 'connected') this.failedAttempts = 0
      this._emit()
    })
    provider.on('sync', (synced) => {
      if (synced) {
        this.failures = 0
        this.retryAt = null
      }
      this._emit()
    })
    provider.on('connection-close', () => {
      this.failures++
      if (!provider.wsconnected) this.failedAttempts++ // still set while the close is reported
      this.retryAt = this.now() + Math.min(100 * 2 ** this.failures, provider.maxBackoffTime)
      this._emit()
    })
    provider.on('closed', ({ code, reason }) => {
      this.closedReason = reason || `close code ${code}`
      this.closedCode = code
      this.retryAt = null
      this._emit()
    })
    window.addEventListener('offline', () => {
      this.network = false
      // Stop reconnecting; close a socket the browser may keep open.
      provider.shouldConnect = false
      provider.ws?.close()
      this._emit()
    })
    window.addEventListener('online', () => {
      this.network = true
      this.connectNow()
    })
  }

  /** Connects now unless the browser has no network. */
  connectNow () {
    if (!this.network) {
      this._emit()
      return
    }
    this.closedReason = ''
    this.retryAt = null
    this.provider.connect() // a no-op while a socket is open or opening
    this._emit()
  }

  /** @return {ConnectionState} */
  get state () {
    const p = this.provider
    /** @type {Phase} */
    let phase
    if (this.closedReason !== '' && !p.wsconnected && !p.wsconnecting) phase = 'stopped'
    else if (!this.network) phase = 'offline'
    else if (p.wsconnected) phase = p.synced ? 'online' : 'syncing'
    else if (p.wsconnecting || this.retryAt === null) phase = 'connecting'
    else phase = 'offline'
    const retryAt = phase === 'offline' && this.network ? this.retryAt : null
    return {
      phase,
      retryAt,
      network: this.network,
      closedReason: this.closedReason,
      closedCode: this.closedCode,
      failedAttempts: this.failedAttempts
    }
  }

  // Deferred: y-websocket emits its events before it has updated the
  // fields the state is read from.
  _emit () {
    setTimeout(() => this.onChange(this.state), 0)
  }
}
