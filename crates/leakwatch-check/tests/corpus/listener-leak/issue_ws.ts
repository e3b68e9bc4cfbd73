import { EventEmitter } from "events";
import { WebSocketServer, WebSocket } from "ws";

const bus = new EventEmitter();
const wss = new WebSocketServer({ port: 8080 });

wss.on("connection", (ws: WebSocket) => {
  bus.on("price", (p) => ws.send(JSON.stringify(p))); // expect: listener-leak
});

export class Gateway {
  private events = new EventEmitter();

  handleConnection(client: WebSocket) {
    this.events.on("broadcast", (m: string) => client.send(m)); // expect: listener-leak
  }
}
