module libmos.org/mos

go 1.19
