import java.io.FileInputStream;
import java.io.InputStream;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

public class DownloadServlet extends HttpServlet {
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws Exception {
        try (InputStream in = new FileInputStream(req.getParameter("f"))) {
            in.transferTo(resp.getOutputStream());
        }
    }
}
