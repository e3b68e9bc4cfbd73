import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

public class Files2 {
    public String firstLine(String path) throws IOException {
        BufferedReader r = new BufferedReader(new FileReader(path)); // expect: unclosed-resource
        return r.readLine();
    }

    public long count(Path file) throws IOException {
        return Files.lines(file).count(); // expect: unclosed-resource
    }

    public void write(String path, byte[] data) throws IOException {
        FileOutputStream out = new FileOutputStream(path); // expect: unclosed-resource
        out.write(data);
        out.close();
    }
}
