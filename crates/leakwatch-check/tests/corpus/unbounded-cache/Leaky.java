import java.math.BigDecimal;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

public class PriceService {
    private static final Map<String, BigDecimal> CACHE = new HashMap<>();
    private static final Map<String, Template> TEMPLATES = new ConcurrentHashMap<>();

    public BigDecimal price(String sku) {
        BigDecimal p = CACHE.get(sku);
        if (p == null) {
            p = load(sku);
            CACHE.put(sku, p); // expect: unbounded-cache
        }
        return p;
    }

    public Template template(String name) {
        return TEMPLATES.computeIfAbsent(name, this::compile); // expect: unbounded-cache
    }
}
