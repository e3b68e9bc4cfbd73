import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

public class PriceService {
    private static final int MAX = 1000;

    private static final Map<String, BigDecimal> CACHE = new LinkedHashMap<String, BigDecimal>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, BigDecimal> eldest) {
            return size() > MAX;
        }
    };

    private static final Cache<String, Template> TEMPLATES = Caffeine.newBuilder().maximumSize(500).build();

    private static final Map<String, Session> SESSIONS = new ConcurrentHashMap<>();

    public BigDecimal price(String sku) {
        return CACHE.computeIfAbsent(sku, this::load);
    }

    public Template template(String name) {
        return TEMPLATES.get(name, this::compile);
    }

    public void open(Session s) {
        SESSIONS.put(s.id(), s);
    }

    public void close(Session s) {
        SESSIONS.remove(s.id());
    }

    public Map<String, Integer> counts(String[] words) {
        Map<String, Integer> local = new java.util.HashMap<>();
        for (String w : words) {
            local.merge(w, 1, Integer::sum);
        }
        return local;
    }
}
