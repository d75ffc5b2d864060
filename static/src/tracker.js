// Counting local changes the server has not confirmed yet, with nothing
// but y-protocols.
//
// A local change is one transaction of this page that changed the
// document (a keystroke, a paste, a format), as opposed to changes that
// arrived from the server, from another tab or from IndexedDB. Changes are
// numbered 1, 2, 3, ... in the order they are made; `confirmed` is the
// highest number the server has confirmed, so `made - confirmed` are
// pending.
//
// The server handles each connection's messages in order and answers
// every sync step 1 with a sync step 2. So when the answer to a step 1
// arrives, the server has applied everything this page sent on that
// socket before the step 1. What has been sent on a socket is known from
// the frames themselves (the tracker sits in the WebSocket class given to
// y-websocket):
//
//   - our sync step 2 answers the server's opening step 1 with everything
//     the server lacked; after it, every change made so far is on the
//     server or on its way on this socket;
//   - after that, every local change goes out as an update at once, so
//     each sent update covers every change made so far.
//
// Each step 1 leaving a socket records how far that socket's frames cover
// (its watermark); each step 2 arriving on it confirms the oldest recorded
// watermark. y-websocket sends a step 1 when a socket opens; when changes
// are covered but not confirmed, the tracker sends one more itself (at
// most one in flight per socket, `probeDelay` after the change), so
// confirmations follow typing by about one round trip. A socket that
// closes takes its watermarks with it: its unconfirmed changes stay
// pending until a later socket's step 2 and step 1 round trip covers them.
//
// A server may refuse changes instead of applying them: to a read-only
// connection it answers each step 2 and update with y-protocols'
// permission-denied auth message, in order like everything else. Once a
// socket has received one, its step 1 answers confirm nothing more: what
// it carried was refused, and stays pending.

import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'

const messageSync = 0
const syncStep1 = 0
const syncStep2 = 1
const syncUpdate = 2
const messageAuth = 2
const permissionDenied = 0

/** @param {unknown} data @return {Uint8Array | null} */
const asBytes = (data) => {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return null
}

/**
 * The sync sub-type of a y-protocols frame, or -1 if it is not a sync
 * message.
 * @param {unknown} data
 * @return {number}
 */
export const syncType = (data) => {
  const bytes = asBytes(data)
  if (bytes === null) return -1
  try {
    const d = decoding.createDecoder(bytes)
    return decoding.readVarUint(d) === messageSync ? decoding.readVarUint(d) : -1
  } catch {
    return -1
  }
}

/**
 * The reason of a y-protocols permission-denied auth message, or null if
 * data is not one.
 * @param {unknown} data
 * @return {string | null}
 */
export const permissionDeniedReason = (data) => {
  const bytes = asBytes(data)
  if (bytes === null) return null
  try {
    const d = decoding.createDecoder(bytes)
    if (decoding.readVarUint(d) !== messageAuth || decoding.readVarUint(d) !== permissionDenied) return null
    return decoding.readVarString(d)
  } catch {
    return null
  }
}

/**
 * @typedef {object} SocketState
 * @property {WebSocket} ws
 * @property {boolean} handshake  our sync step 2 has been sent on it
 * @property {number} covered     changes up to this number are on the server or in flight on it
 * @property {number[]} waiting   watermarks of its step 1s not answered yet, oldest first
 * @property {any} timer          a probe to send, if scheduled
 * @property {boolean} refused     the server refused changes sent on it
 */

export class ChangeTracker {
  /**
   * @param {import('yjs').Doc} doc
   * @param {object} opts
   * @param {(origin: any) => boolean} opts.isLocal which transaction origins are this page's own changes
   * @param {number} [opts.pending] changes left pending by an earlier load of this page (a reload)
   * @param {number} [opts.probeDelay] ms between a change and the step 1 that asks for its confirmation
   * @param {(t: ChangeTracker) => void} [opts.onChange] called when `pending` changes
   */
  constructor (doc, { isLocal, pending = 0, probeDelay = 100, onChange = () => {} }) {
    this.doc = doc
    this.made = pending
    this.confirmed = 0
    this.probeDelay = probeDelay
    this.onChange = onChange
    /** @type {Set<SocketState>} */
    this.sockets = new Set()
    // Must be registered before y-websocket's own update handler, which
    // sends the update: the change is counted before its frame leaves.
    doc.on('update', (_update, origin) => {
      if (isLocal(origin)) {
        this.made++
        this.onChange(this)
      }
    })
  }

  /** Local changes not confirmed by the server. */
  get pending () {
    return this.made - this.confirmed
  }

  /**
   * A WebSocket class for y-websocket's WebSocketPolyfill option that
   * reports to this tracker.
   * @param {typeof WebSocket} Base
   * @return {typeof WebSocket}
   */
  socketClass (Base) {
    const tracker = this
    return class TrackedWebSocket extends Base {
      constructor (url, protocols) {
        super(url, protocols)
        /** @type {SocketState} */
        const s = { ws: this, handshake: false, covered: 0, waiting: [], timer: null, refused: false }
        this._quireState = s
        tracker.sockets.add(s)
        // Registered before y-websocket sets onmessage, so it runs first.
        this.addEventListener('message', (e) => tracker._received(s, e.data))
        this.addEventListener('close', () => {
          clearTimeout(s.timer)
          tracker.sockets.delete(s)
        })
      }

      send (data) {
        tracker._sending(this._quireState, data)
        super.send(data)
      }
    }
  }

  /**
   * @param {SocketState} s
   * @param {unknown} data
   */
  _sending (s, data) {
    switch (syncType(data)) {
      case syncStep1:
        s.waiting.push(s.covered)
        return
      case syncStep2:
        s.handshake = true
        s.covered = this.made
        break
      case syncUpdate:
        if (s.handshake) s.covered = this.made
        break
      default:
        return
    }
    this._scheduleProbe(s)
  }

  /**
   * @param {SocketState} s
   * @param {unknown} data
   */
  _received (s, data) {
    if (syncType(data) !== syncStep2) {
      if (permissionDeniedReason(data) !== null) {
        s.refused = true
        clearTimeout(s.timer)
        s.timer = null
      }
      return
    }
    const watermark = s.waiting.shift()
    if (watermark === undefined || s.refused) return // not an answer of ours, or refused: confirms nothing
    if (watermark > this.confirmed) {
      this.confirmed = watermark
      this.onChange(this)
    }
    this._scheduleProbe(s)
  }

  /**
   * Sends a step 1 on s soon if it covers changes that no step 1 of it
   * asks about yet, and none is waiting for its answer.
   * @param {SocketState} s
   */
  _scheduleProbe (s) {
    if (s.refused || s.timer !== null || s.waiting.length > 0 || s.covered <= this.confirmed) return
    s.timer = setTimeout(() => {
      s.timer = null
      if (s.waiting.length > 0 || s.covered <= this.confirmed || s.ws.readyState !== s.ws.OPEN) return
      const encoder = encoding.createEncoder()
      encoding.writeVarUint(encoder, messageSync)
      syncProtocol.writeSyncStep1(encoder, this.doc)
      s.ws.send(encoding.toUint8Array(encoder)) // through send above: recorded
    }, this.probeDelay)
  }
}
