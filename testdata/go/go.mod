module example.com/wasipack-fixtures

go 1.21
