import java.io.FileInputStream;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

public class DownloadServlet extends HttpServlet {
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws Exception {
        byte[] data = new FileInputStream(req.getParameter("f")).readAllBytes(); // expect: unclosed-resource
        resp.getOutputStream().write(data);
    }
}
