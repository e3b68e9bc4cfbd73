import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

public class Files2 {
    private FileOutputStream log;

    public String firstLine(String path) throws IOException {
        try (BufferedReader r = new BufferedReader(new FileReader(path))) {
            return r.readLine();
        }
    }

    public long count(Path file) throws IOException {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.count();
        }
    }

    public void write(String path, byte[] data) throws IOException {
        FileOutputStream out = new FileOutputStream(path);
        try {
            out.write(data);
        } finally {
            out.close();
        }
    }

    public void openLog(String path) throws IOException {
        FileOutputStream out = new FileOutputStream(path);
        this.log = out;
    }

    public BufferedReader console() {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        return in;
    }
}
