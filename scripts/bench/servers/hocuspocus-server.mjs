// @hocuspocus/server with its defaults (in memory, no extensions, updates
// arriving together merged into one broadcast), on loopback:
//   node hocuspocus-server.mjs [port]   (0 or none: any free port)
import { Server } from '@hocuspocus/server'

const server = new Server({ port: Number(process.argv[2] || 0), address: '127.0.0.1', quiet: true, stopOnSignals: false })
await server.listen()
console.log(`listening ${server.address.port}`)
process.on('SIGTERM', () => process.exit(0))
