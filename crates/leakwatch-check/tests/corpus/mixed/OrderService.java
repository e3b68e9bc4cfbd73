import java.io.FileWriter;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

@Service
public class OrderService {
    private final DataSource ds;
    private final Map<Long, Customer> customers = new ConcurrentHashMap<>();
    private final List<String> events = new ArrayList<>();

    public Customer customer(long id) {
        return customers.computeIfAbsent(id, this::loadCustomer); // expect: unbounded-cache
    }

    public void onOrder(Order o) {
        events.add("order " + o.id()); // expect: global-accumulator
    }

    public int countOrders() throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM orders")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    public List<Order> all() throws SQLException {
        Connection c = ds.getConnection(); // expect: unreleased-connection
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT * FROM orders")) { // expect: unbounded-results
            return map(rs);
        }
    }

    public void export(String path, List<Order> orders) throws IOException {
        FileWriter w = new FileWriter(path); // expect: unclosed-resource
        for (Order o : orders) {
            w.write(o.toString());
        }
        w.close();
    }
}
