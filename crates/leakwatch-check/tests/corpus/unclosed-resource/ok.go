package files

import (
	"io"
	"net"
	"os"
)

func ReadAll(paths []string) ([]byte, error) {
	var out []byte
	for _, p := range paths {
		b, err := readOne(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func readOne(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func Create(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func Ping(addr string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte("ping"))
	return err
}

// A client keeps its connection in a field and closes it in its own Close
// method (knxd's EIBConnection shape).
type BusClient struct {
	con net.Conn
}

func (c *BusClient) Connect(path string) error {
	var err error
	c.con, err = net.Dial("unix", path)
	return err
}

func (c *BusClient) Close() error {
	return c.con.Close()
}
