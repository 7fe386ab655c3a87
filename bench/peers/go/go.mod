module ssepeer

go 1.19
