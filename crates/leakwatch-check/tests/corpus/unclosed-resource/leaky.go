package files

import (
	"io"
	"net"
	"os"
)

func ReadAll(paths []string) ([]byte, error) {
	var out []byte
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close() // expect: unclosed-resource
		b, _ := io.ReadAll(f)
		out = append(out, b...)
	}
	return out, nil
}

func Header(path string) ([]byte, error) {
	f, err := os.Open(path) // expect: unclosed-resource
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 16)
	_, err = f.Read(buf)
	return buf, err
}

func Ping(addr string) error {
	conn, err := net.Dial("tcp", addr) // expect: unclosed-resource
	if err != nil {
		return err
	}
	_, err = conn.Write([]byte("ping"))
	return err
}

// The same field that nothing closes: each Connect drops the previous
// connection open.
type Poller struct {
	con net.Conn
}

func (p *Poller) Connect(addr string) error {
	var err error
	p.con, err = net.Dial("tcp", addr) // expect: unclosed-resource
	return err
}
