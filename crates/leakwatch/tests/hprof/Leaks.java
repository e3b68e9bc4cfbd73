// Test program for `leakwatch diff` on HPROF heap dumps: one leak pattern
// (or a bounded cache) per mode, among short-lived churn. It dumps its own
// heap (live objects, as `jcmd PID GC.heap_dump` does) after a warm-up and
// after each round of work, or, with `wait`, runs until killed so that
// leakwatch can take the dumps from outside.
//
// usage: java Leaks MODE OUT_DIR ROUNDS PER_ROUND [wait|oom]
//   MODE: static-list | listeners | threadlocal | lru
//   wait: print "ready" and keep working (PER_ROUND/10 every 100 ms) until killed
//   oom:  after the dumps, keep working until the heap is exhausted (run
//         with -XX:+HeapDumpOnOutOfMemoryError for a third dump)
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

public class Leaks {
    // --- a static list that keeps every event -------------------------------
    static final class OrderEvent {
        final long id;
        final String customer;
        final byte[] payload;
        OrderEvent(long id) {
            this.id = id;
            this.customer = "customer-" + id;
            this.payload = new byte[64];
        }
    }

    static final class OrderService {
        static final List<OrderEvent> HISTORY = new ArrayList<>();
        static void handle(long id) {
            HISTORY.add(new OrderEvent(id));
        }
    }

    // --- listeners registered and never removed ------------------------------
    interface PriceListener {
        void onPrice(double p);
    }

    static final class PriceFeed {
        private final List<PriceListener> listeners = new ArrayList<>();
        void subscribe(PriceListener l) {
            listeners.add(l);
        }
        void publish(double p) {
            for (PriceListener l : listeners) l.onPrice(p);
        }
    }

    static final class QuoteWidget implements PriceListener {
        final double[] history = new double[16];
        int n;
        public void onPrice(double p) {
            history[n++ % history.length] = p;
        }
    }

    static final PriceFeed FEED = new PriceFeed();

    // --- a ThreadLocal in a pool thread that is never cleared ----------------
    static final ThreadLocal<List<byte[]>> BUFFERS = ThreadLocal.withInitial(ArrayList::new);
    static final ExecutorService POOL = Executors.newFixedThreadPool(2);

    // --- a bounded LRU cache: turns over, does not grow -----------------------
    static final class Cache<K, V> extends LinkedHashMap<K, V> {
        private final int max;
        Cache(int max) {
            super(16, 0.75f, true);
            this.max = max;
        }
        @Override
        protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
            return size() > max;
        }
    }

    static final class Session {
        final long id;
        final byte[] state = new byte[96];
        Session(long id) {
            this.id = id;
        }
    }

    static final Cache<Long, Session> SESSIONS = new Cache<>(5000);

    static long next = 0;
    static Object sink;

    static void work(String mode, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            long id = ++next;
            // Short-lived churn in every mode.
            sink = new StringBuilder("request-").append(id).toString().getBytes();
            switch (mode) {
                case "static-list":
                    OrderService.handle(id);
                    break;
                case "listeners":
                    QuoteWidget w = new QuoteWidget();
                    FEED.subscribe(w);
                    if (i % 100 == 0) FEED.publish(id);
                    break;
                case "threadlocal":
                    // Each task leaves a buffer in its pool thread's ThreadLocal list.
                    POOL.submit(() -> BUFFERS.get().add(new byte[200])).get();
                    break;
                case "lru":
                    SESSIONS.put(id, new Session(id));
                    break;
                default:
                    throw new IllegalArgumentException("unknown mode " + mode);
            }
        }
    }

    static void dump(String path) throws Exception {
        HotSpotDiagnosticMXBean bean = ManagementFactory.newPlatformMXBeanProxy(
                ManagementFactory.getPlatformMBeanServer(),
                "com.sun.management:type=HotSpotDiagnostic", HotSpotDiagnosticMXBean.class);
        bean.dumpHeap(path, true);
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String out = args[1];
        int rounds = Integer.parseInt(args[2]);
        int perRound = Integer.parseInt(args[3]);
        boolean wait = args.length > 4 && args[4].equals("wait");
        boolean oom = args.length > 4 && args[4].equals("oom");
        // Warm-up: fills the LRU cache and starts the pool threads.
        work(mode, mode.equals("lru") ? 8000 : 200);
        if (wait) {
            System.out.println("ready");
            System.out.flush();
            while (true) {
                work(mode, perRound / 10);
                Thread.sleep(100);
            }
        }
        for (int r = 0; r < rounds; r++) {
            if (r > 0) work(mode, perRound);
            dump(out + "/dump" + r + ".hprof");
        }
        while (oom) {
            work(mode, perRound);
        }
        POOL.shutdown();
        POOL.awaitTermination(10, TimeUnit.SECONDS);
        System.out.println("done " + next);
    }
}
