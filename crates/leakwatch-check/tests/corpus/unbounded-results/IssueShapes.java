import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

class PriceDao {
    double price(Connection c, String sku) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT price FROM prices WHERE sku = ?")) {
            ps.setString(1, sku);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getDouble(1) : 0;
            }
        }
    }
}
