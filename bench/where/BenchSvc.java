// The JVM service of bench/where/run.sh: an HTTP service on 127.0.0.1 whose
// requests do some work and make garbage, over a live set of LIVE_MB
// megabytes (small objects, as a cache of sessions would be), so that a
// class histogram (and the full GC of a live one) has a realistic heap to
// walk.
//
// Usage: java BenchSvc PORT LIVE_MB

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

public class BenchSvc {
    static final class Session {
        final long id;
        final byte[] data = new byte[48];
        Session(long id) { this.id = id; }
    }

    static final Map<Long, Session> live = new HashMap<>();

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        long liveMb = Long.parseLong(args[1]);
        // A HashMap node (32 B) + a Long (16 B) + a Session (24 B) + its
        // byte[48] (64 B): about 136 bytes per entry.
        long entries = liveMb * 1024 * 1024 / 136;
        for (long i = 0; i < entries; i++) {
            live.put(i, new Session(i));
        }
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 1024);
        server.setExecutor(Executors.newFixedThreadPool(2));
        server.createContext("/", ex -> {
            List<String> garbage = new ArrayList<>();
            long h = 0;
            for (int i = 0; i < 200; i++) {
                String s = "item-" + i + "-" + System.nanoTime();
                garbage.add(s);
                h = h * 31 + s.hashCode();
            }
            Session s = live.get(Math.abs(h) % Math.max(1, entries));
            byte[] body = ("ok " + (s == null ? 0 : s.id) + " " + garbage.size() + "\n")
                .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        });
        server.start();
        System.out.println("listening " + port + " with " + entries + " live sessions");
        System.out.flush();
    }
}
