import { EventEmitter } from "events";
import { WebSocketServer, WebSocket } from "ws";

const bus = new EventEmitter();
const wss = new WebSocketServer({ port: 8080 });

wss.on("connection", (ws: WebSocket) => {
  const onPrice = (p: unknown) => ws.send(JSON.stringify(p));
  bus.on("price", onPrice);
  ws.on("close", () => bus.off("price", onPrice));
});

export class Gateway {
  private events = new EventEmitter();

  handleConnection(client: WebSocket) {
    const relay = (m: string) => client.send(m);
    this.events.on("broadcast", relay);
    client.on("close", () => this.events.off("broadcast", relay));
  }
}
