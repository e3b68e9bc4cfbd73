import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

public class UserDao {
    private final DataSource dataSource;

    public String name(long id) throws SQLException {
        Connection c = dataSource.getConnection(); // expect: unreleased-connection
        PreparedStatement ps = c.prepareStatement("SELECT name FROM users WHERE id = ?"); // expect: unreleased-connection
        ps.setLong(1, id);
        ResultSet rs = ps.executeQuery(); // expect: unreleased-connection
        rs.next();
        String n = rs.getString(1);
        c.close();
        return n;
    }
}
