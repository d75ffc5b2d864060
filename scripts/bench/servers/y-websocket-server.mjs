// @y/websocket-server as its own bin runs it (in memory, one document per
// URL path), but on the address given and printing the port it got:
//   node y-websocket-server.mjs [port]   (0 or none: any free port)
import http from 'node:http'
import WebSocket from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const wss = new WebSocket.Server({ noServer: true })
wss.on('connection', setupWSConnection)
const server = http.createServer((_req, res) => { res.writeHead(200); res.end('okay') })
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, ws => wss.emit('connection', ws, req))
})
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`)
})
process.on('SIGTERM', () => process.exit(0))
