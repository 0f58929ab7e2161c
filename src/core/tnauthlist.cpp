// placeholder: owned by a work stream in progress
