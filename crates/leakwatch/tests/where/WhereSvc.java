// A small service for `leakwatch where`'s tests: one leaking class among
// request-scoped churn and a bounded cache.
//
// A worker thread handles a "request" about every millisecond: it makes 50
// RequestScratch objects that live while the request is in flight (the last
// 20 requests are; older ones die: churn), looks up a CacheEntry
// in an LRU cache bounded at 2000 entries (full after its first 2000
// requests), and every 10th request keeps a LeakedSession in a list that is
// never emptied. An HTTP server on 127.0.0.1 answers GET / with the count of
// requests handled, so a test can see the service still serves.
//
// Usage: java WhereSvc [exit-after-seconds (0: never) [bytes-per-session]]

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class WhereSvc {
    static int sessionBytes = 200;

    static final class LeakedSession {
        final long id;
        final byte[] state = new byte[sessionBytes];
        LeakedSession(long id) { this.id = id; }
    }

    static final class RequestScratch {
        final char[] buf = new char[32];
    }

    static final class CacheEntry {
        final String key;
        final byte[] value = new byte[100];
        CacheEntry(String key) { this.key = key; }
    }

    static final List<LeakedSession> sessions = new ArrayList<>();
    static final Map<Integer, CacheEntry> cache = new LinkedHashMap<>(4096, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, CacheEntry> e) {
            return size() > 2000;
        }
    };
    /** The requests in flight: their scratch objects are alive. */
    static final List<List<RequestScratch>> inFlight = new ArrayList<>();
    static volatile long handled = 0;
    static volatile int sink = 0;

    static void handle(long n) {
        List<RequestScratch> scratch = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            scratch.add(new RequestScratch());
        }
        int k = (int) (n % 5000);
        CacheEntry e = cache.computeIfAbsent(k, x -> new CacheEntry("key-" + x));
        if (n % 10 == 0) {
            sessions.add(new LeakedSession(n));
        }
        inFlight.add(scratch);
        if (inFlight.size() > 20) {
            inFlight.remove(0);
        }
        sink += scratch.size() + e.key.length();
    }

    public static void main(String[] args) throws Exception {
        long exitAfter = args.length > 0 ? Long.parseLong(args[0]) : 0;
        long exitAfterMs = exitAfter > 0 ? exitAfter * 1000 : Long.MAX_VALUE;
        if (args.length > 1) {
            sessionBytes = Integer.parseInt(args[1]);
        }
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            byte[] body = ("ok " + handled + "\n").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        });
        server.start();
        Thread worker = new Thread(() -> {
            long n = 0;
            long start = System.currentTimeMillis();
            while (System.currentTimeMillis() - start < exitAfterMs) {
                handle(n++);
                handled = n;
                try {
                    Thread.sleep(1);
                } catch (InterruptedException ie) {
                    return;
                }
            }
            System.out.println("exiting after " + n + " requests");
            System.exit(0);
        }, "worker");
        worker.start();
        System.out.println("listening " + server.getAddress().getPort());
        System.out.flush();
    }
}
