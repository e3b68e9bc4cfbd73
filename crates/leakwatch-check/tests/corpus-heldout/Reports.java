import java.io.*;
import java.sql.*;
import java.util.*;

public class Reports {
    private static final Map<String, byte[]> PDF_CACHE = new HashMap<>();
    private static final List<String> ACCESS_LOG = new ArrayList<>();

    public byte[] render(String id) throws Exception {
        byte[] pdf = PDF_CACHE.get(id);
        if (pdf == null) {
            pdf = build(id);
            PDF_CACHE.put(id, pdf); // expect: unbounded-cache
        }
        ACCESS_LOG.add(id); // expect: global-accumulator
        return pdf;
    }

    public List<String> all(Connection c) throws Exception {
        Statement st = c.createStatement(); // expect: unreleased-connection
        ResultSet rs = st.executeQuery("SELECT name FROM reports"); // expect: unbounded-results, unreleased-connection
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(1));
        return out;
    }

    public String first(Connection c, String id) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT name FROM reports WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    public void spin() {
        new Thread(() -> { while (true) { poll(); } }).start(); // expect: unstoppable-task
    }
}
