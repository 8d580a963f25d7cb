module libmos.org/examples/go-server

go 1.19

require libmos.org/mos v0.0.0

replace libmos.org/mos => ../mos
