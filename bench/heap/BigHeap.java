// Benchmark program for bench/heap/hprof.sh: a service heap of several
// hundred MB (a customer table that stays put, an LRU response cache that
// turns over) with one leak, a static list of order events that grows each
// round. Prints "ready N" after each round and waits for a line on stdin, so
// the script can take a heap dump and a class histogram at that point.
//
// usage: java -Xmx4g BigHeap CUSTOMERS CACHE_MAX PER_ROUND ROUNDS
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.io.BufferedReader;
import java.io.InputStreamReader;

public class BigHeap {
    static final class Customer {
        final long id;
        final String name;
        final int[] scores = new int[8];
        Customer(long id) {
            this.id = id;
            this.name = "customer-" + id;
        }
    }

    static final class Response {
        final String url;
        final byte[] body;
        Response(String url) {
            this.url = url;
            this.body = new byte[48];
        }
    }

    static final class OrderEvent {
        final long id;
        final String customer;
        final long[] amounts = new long[4];
        OrderEvent(long id) {
            this.id = id;
            this.customer = "customer-" + (id % 100_000);
        }
    }

    static final class OrderService {
        // The leak: every event is kept.
        static final List<OrderEvent> HISTORY = new ArrayList<>();
    }

    static final Map<Long, Customer> CUSTOMERS = new HashMap<>();

    public static void main(String[] args) throws Exception {
        int customers = Integer.parseInt(args[0]);
        final int cacheMax = Integer.parseInt(args[1]);
        int perRound = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        Map<String, Response> cache = new LinkedHashMap<String, Response>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Response> e) {
                return size() > cacheMax;
            }
        };
        for (long i = 0; i < customers; i++) CUSTOMERS.put(i, new Customer(i));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        long id = 0;
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < perRound; k++, id++) {
                OrderService.HISTORY.add(new OrderEvent(id));
                String url = "/item/" + id;
                cache.put(url, new Response(url));
            }
            System.out.println("ready " + r);
            System.out.flush();
            if (in.readLine() == null) return;
        }
        System.out.println("done " + cache.size() + " " + CUSTOMERS.size());
    }
}
